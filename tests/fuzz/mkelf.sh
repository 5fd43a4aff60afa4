#!/bin/sh
# Write the seeds of fuzz_elf (tests/fuzz/corpus/elf): small shared
# objects whose DWARF and symbols hold what pyheap looks for in a
# CPython's files.  sh tests/fuzz/mkelf.sh [DIR]
#   tiny.so     a few CPython-named structs and symbols, by hand
#   python.so   Python.h's public structs (the machine's python3-dev),
#               with a _PyRuntime and PyType_Type of its own
set -eu
out=${1:-$(cd "$(dirname "$0")" && pwd)/corpus/elf}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/tiny.c" <<'C'
typedef struct _object { long ob_refcnt; struct _typeobject *ob_type; } PyObject;
typedef struct { PyObject ob_base; long ob_size; } PyVarObject;
typedef struct _typeobject {
	PyVarObject ob_base; const char *tp_name; long tp_basicsize, tp_itemsize;
	unsigned long tp_flags; PyObject *tp_dict; PyObject *tp_mro;
} PyTypeObject;
typedef struct { PyVarObject ob_base; PyObject *ob_item[1]; } PyTupleObject;
struct pyinterpreters { void *mutex; struct _is *head, *main; long next_id; };
typedef struct pyruntimestate { int initialized; struct pyinterpreters interpreters; } _PyRuntimeState;
typedef struct _is { struct _is *next; long id; struct _ts *threads_head; } PyInterpreterState;
typedef struct _ts { struct _ts *prev, *next; PyInterpreterState *interp; } PyThreadState;
_PyRuntimeState _PyRuntime;
PyTypeObject PyType_Type = { .tp_name = "type" };
const unsigned long Py_Version = 0x030b07f0;
PyThreadState *anchor(PyTupleObject *t) { return (PyThreadState *)t; }
C
cc -shared -fPIC -g -O0 -Wl,--build-id -o "$out/tiny.so" "$tmp/tiny.c"
inc=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
cat > "$tmp/python.c" <<'C'
#include <Python.h>
PyObject *anchor(PyTypeObject *t, PyListObject *l, PyTupleObject *u,
		 PyDictObject *d, PyFunctionObject *f, PyCodeObject *c,
		 PyFrameObject *fr, PyThreadState *ts, PyInterpreterState *is)
{
	return (PyObject *)(t ? (void *)t : l ? (void *)l : u ? (void *)u :
			    d ? (void *)d : f ? (void *)f : c ? (void *)c :
			    fr ? (void *)fr : ts ? (void *)ts : (void *)is);
}
char _PyRuntime[4096];
C
cc -shared -fPIC -g -O0 -fno-eliminate-unused-debug-types -Wl,--build-id \
	-I"$inc" -o "$out/python.so" "$tmp/python.c"
strip --strip-unneeded -o "$out/python-stripped.so" "$out/python.so"
ls -l "$out"
