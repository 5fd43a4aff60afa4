/*
 * The free-threaded layouts of a CPython pyheap has no build of
 * (tools/gen-tables.sh): compiled with -g -DPy_GIL_DISABLED=1 (what
 * ./configure --disable-gil writes into pyconfig.h) against that release's
 * installed headers, internal ones included, and read back by layoutgen
 * from the DWARF.  gen-tables.sh appends the structs CPython keeps in .c
 * files (dequeobject, PyODictObject, buffered, trace_t) as the release's
 * GIL build's DWARF declares them.  Nothing here runs: it only makes the
 * compiler describe the structs.
 */
#define Py_BUILD_CORE 1
#include "Python.h"
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_tstate.h"
#include "internal/pycore_frame.h"
#if __has_include("internal/pycore_interpframe_structs.h")
#include "internal/pycore_interpframe_structs.h"
#endif
#include "internal/pycore_dict.h"
#include "internal/pycore_gc.h"
#include "internal/pycore_mimalloc.h"
#include "internal/pycore_moduleobject.h"
#include "internal/pycore_hashtable.h"
#include "internal/pycore_tracemalloc.h"
#include "internal/pycore_obmalloc.h"
#include "internal/pycore_code.h"

/* The private structs' member types. */
typedef struct BLOCK block;
typedef struct _odictnode _ODictNode;
typedef off_t Py_off_t;
typedef struct tracemalloc_traceback traceback_t;

int pyheap_ftlayout;
