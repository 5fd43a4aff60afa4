/*
 * fields.h — every CPython struct and member pyheap reads, listed once.
 *
 * The lists are X-macros, expanded for the enum of ids, the built-in tables
 * (python/tables.c), the DWARF lookup (python/layout.c) and the test that
 * compares the tables with the DWARF of real interpreters
 * (tests/unit/test_layout.c).  Adding a field: add a line here, run
 * `tests/layoutgen` against each pyenv interpreter to regenerate tables.c
 * (see the top of tables.c), and the comparison test keeps it honest.
 *
 * PY_STRUCTS(S):  S(ID, "DWARF name|alternative", "CPython source")
 *   The DWARF name is a typedef or a struct tag ("struct _is" also works);
 *   alternatives cover renames between versions.  The source names the
 *   header (3.13 paths; older versions keep the struct in the file named in
 *   parentheses) where the struct is declared.
 *
 * PY_FIELDS(F):   F(ID, STRUCT_ID, "member.path|alternative")
 *   The path is resolved inside the struct as libdw does it in
 *   symbols/dwarf.c: dotted sub-members, members of anonymous unions and
 *   structs as if direct, "name[i]" array elements.  The first alternative
 *   present in a version wins; a field present in no alternative is absent
 *   in that version (offset -1).  Each version's table also records the
 *   member's byte width, so a member that changed type between versions
 *   (int -> Py_ssize_t, int -> uint16_t) is read at its real width.
 *
 * PY_DEBUG_OFFSETS(D): D(FIELD_ID, DO_FIELD_ID)
 *   CPython 3.13 puts `struct _Py_DebugOffsets` at the start of _PyRuntime
 *   (Include/internal/pycore_runtime.h).  Each line says: the offset of
 *   FIELD_ID is the u64 stored at the position of DO_FIELD_ID.  Sizes map
 *   the same way through PY_DEBUG_SIZES(Z): Z(STRUCT_ID, DO_FIELD_ID).
 */
#ifndef PYHEAP_PYTHON_FIELDS_H
#define PYHEAP_PYTHON_FIELDS_H

#define PY_STRUCTS(S) \
	S(RUNTIME, "_PyRuntimeState", "Include/internal/pycore_runtime.h (3.7: internal/pystate.h)") \
	S(INTERP, "PyInterpreterState|struct _is", "Include/internal/pycore_interp.h (3.7: cpython pystate.h)") \
	S(TSTATE, "PyThreadState|struct _ts", "Include/cpython/pystate.h (3.7: pystate.h)") \
	S(CFRAME, "_PyCFrame", "Include/cpython/pystate.h (3.10-3.12)") \
	S(IFRAME, "struct _PyInterpreterFrame", "Include/internal/pycore_frame.h (3.11+)") \
	S(FRAMEOBJ, "PyFrameObject|struct _frame", "Include/internal/pycore_frame.h (<=3.10: frameobject.h)") \
	S(CODE, "PyCodeObject", "Include/cpython/code.h (3.7: code.h)") \
	S(OBJECT, "PyObject", "Include/object.h") \
	S(VAROBJECT, "PyVarObject", "Include/object.h") \
	S(TYPE, "PyTypeObject|struct _typeobject", "Include/cpython/object.h (3.7: object.h)") \
	S(HEAPTYPE, "PyHeapTypeObject|struct _heaptypeobject", "Include/cpython/object.h (3.7: object.h)") \
	S(GCHEAD, "PyGC_Head", "Include/internal/pycore_gc.h (3.7: objimpl.h)") \
	S(GCSTATE, "struct _gc_runtime_state", "Include/internal/pycore_gc.h (3.7: internal/mem.h)") \
	S(GCGEN, "struct gc_generation", "Include/internal/pycore_gc.h (3.7: internal/mem.h)") \
	S(GIL, "struct _gil_runtime_state", "Include/internal/pycore_gil.h (3.7: internal/gil.h)") \
	S(OBMSTATE, "struct _obmalloc_state", "Include/internal/pycore_obmalloc.h (3.12+)") \
	S(ARENA, "struct arena_object", "Include/internal/pycore_obmalloc.h (<=3.11: Objects/obmalloc.c)") \
	S(POOL, "struct pool_header", "Include/internal/pycore_obmalloc.h (<=3.11: Objects/obmalloc.c)") \
	S(DICT, "PyDictObject", "Include/cpython/dictobject.h (3.7: dictobject.h)") \
	S(DICTKEYS, "PyDictKeysObject|struct _dictkeysobject", "Include/internal/pycore_dict.h (<=3.10: Objects/dict-common.h)") \
	S(DICTKEYENTRY, "PyDictKeyEntry|PyDictEntry", "Include/internal/pycore_dict.h (<=3.10: Objects/dict-common.h; 2.7: dictobject.h PyDictEntry)") \
	S(DICTUNIENTRY, "PyDictUnicodeEntry", "Include/internal/pycore_dict.h (3.11+)") \
	S(DICTVALUES, "PyDictValues|struct _dictvalues", "Include/internal/pycore_dict.h (3.11+)") \
	S(LIST, "PyListObject", "Include/cpython/listobject.h (3.7: listobject.h)") \
	S(TUPLE, "PyTupleObject", "Include/cpython/tupleobject.h (3.7: tupleobject.h)") \
	S(SET, "PySetObject", "Include/cpython/setobject.h (<=3.10: setobject.h)") \
	S(SETENTRY, "setentry", "Include/cpython/setobject.h (<=3.10: setobject.h)") \
	S(ASCII, "PyASCIIObject", "Include/cpython/unicodeobject.h (3.7: unicodeobject.h)") \
	S(COMPACTUNI, "PyCompactUnicodeObject", "Include/cpython/unicodeobject.h") \
	S(UNICODE, "PyUnicodeObject", "Include/cpython/unicodeobject.h") \
	S(LONG, "PyLongObject|struct _longobject", "Include/cpython/longintrepr.h (3.7: longintrepr.h)") \
	S(BYTES, "PyBytesObject|PyStringObject", "Include/cpython/bytesobject.h (3.7: bytesobject.h; 2.7: stringobject.h, str)") \
	S(BYTEARRAY, "PyByteArrayObject", "Include/cpython/bytearrayobject.h (3.7: bytearrayobject.h)") \
	S(FLOAT, "PyFloatObject", "Include/cpython/floatobject.h (<=3.10: floatobject.h)") \
	S(FUNC, "PyFunctionObject", "Include/cpython/funcobject.h (3.7: funcobject.h)") \
	S(CELL, "PyCellObject", "Include/cpython/cellobject.h (3.7: cellobject.h)") \
	S(METHOD, "PyMethodObject", "Include/cpython/classobject.h (3.7: classobject.h)") \
	S(GEN, "PyGenObject", "Include/cpython/genobject.h (3.7: genobject.h)") \
	S(MODULE, "PyModuleObject", "Include/internal/pycore_moduleobject.h (<=3.9: Objects/moduleobject.c)") \
	S(MEMBERDEF, "PyMemberDef", "Include/descrobject.h (<=3.11: structmember.h)") \
	S(WEAKREF, "PyWeakReference|struct _PyWeakReference", "Include/cpython/weakrefobject.h (3.7: weakrefobject.h)") \
	S(STACKCHUNK, "_PyStackChunk", "Include/cpython/pystate.h (3.11+)") \
	S(HASHTABLE, "_Py_hashtable_t", "Include/internal/pycore_hashtable.h (3.7: Python/hashtable.h)") \
	S(HTENTRY, "_Py_hashtable_entry_t", "Include/internal/pycore_hashtable.h (3.7: Python/hashtable.h)") \
	S(TMSTATE, "struct _tracemalloc_runtime_state", "Include/internal/pycore_tracemalloc.h (3.12+)") \
	S(TMTRACE, "trace_t", "Python/tracemalloc.c (<=3.11: Modules/_tracemalloc.c)") \
	S(TMTRACEBACK, "traceback_t|struct tracemalloc_traceback", "Include/internal/pycore_tracemalloc.h (<=3.11: Modules/_tracemalloc.c)") \
	S(TMFRAME, "frame_t|struct tracemalloc_frame", "Include/internal/pycore_tracemalloc.h (<=3.11: Modules/_tracemalloc.c)") \
	S(TMCONFIG, "struct _PyTraceMalloc_Config", "Include/internal/pycore_tracemalloc.h (3.8-3.11: internal/pycore_pymem.h; 3.7: anonymous, Modules/_tracemalloc.c)") \
	S(DEBUGOFF, "struct _Py_DebugOffsets", "Include/internal/pycore_runtime.h (3.13+)") \
	S(MODDEF, "PyModuleDef|struct PyModuleDef", "Include/moduleobject.h") \
	S(DEQUE, "dequeobject", "Modules/_collectionsmodule.c") \
	S(ODICT, "PyODictObject|struct _odictobject", "Objects/odictobject.c") \
	S(BUFFERED, "buffered", "Modules/_io/bufferedio.c") \
	S(CFUNC, "PyCFunctionObject", "Include/cpython/methodobject.h (<=3.8: methodobject.h)") \
	S(TSIMPL, "_PyThreadStateImpl", "Include/internal/pycore_tstate.h (3.13+)") \
	S(MIHEAP, "mi_heap_t|struct mi_heap_s", "Include/internal/mimalloc/mimalloc/types.h (3.13+)") \
	S(MIPQ, "mi_page_queue_t|struct mi_page_queue_s", "Include/internal/mimalloc/mimalloc/types.h (3.13+)") \
	S(MIPAGE, "mi_page_t|struct mi_page_s", "Include/internal/mimalloc/mimalloc/types.h (3.13+)") \
	S(MISEGMENT, "mi_segment_t|struct mi_segment_s", "Include/internal/mimalloc/mimalloc/types.h (3.13+)") \
	S(TRYBLOCK, "PyTryBlock", "Include/frameobject.h (<=3.10)") \
	S(INSTANCE, "PyInstanceObject", "Include/classobject.h (2.7: old-style instance)") \
	S(CLASSOBJ, "PyClassObject", "Include/classobject.h (2.7: old-style class)")

#define PY_FIELDS(F) \
	/* _PyRuntimeState */ \
	F(RT_FINALIZING, RUNTIME, "_finalizing|finalizing") \
	F(RT_INTERP_HEAD, RUNTIME, "interpreters.head") \
	F(RT_INTERP_MAIN, RUNTIME, "interpreters.main") \
	F(RT_GC, RUNTIME, "gc") \
	F(RT_GIL, RUNTIME, "ceval.gil") \
	F(RT_TSTATE_CURRENT, RUNTIME, "gilstate.tstate_current") \
	F(RT_MAIN_INTERP, RUNTIME, "_main_interpreter") \
	F(RT_OBMALLOC, RUNTIME, "obmalloc") \
	F(RT_TRACEMALLOC, RUNTIME, "tracemalloc") \
	/* PyInterpreterState */ \
	F(IS_NEXT, INTERP, "next") \
	F(IS_ID, INTERP, "id") \
	F(IS_THREADS_HEAD, INTERP, "threads.head|tstate_head") \
	F(IS_MODULES, INTERP, "imports.modules|modules") \
	F(IS_SYSDICT, INTERP, "sysdict") \
	F(IS_BUILTINS, INTERP, "builtins") \
	F(IS_DICT, INTERP, "dict") \
	F(IS_GC, INTERP, "gc") \
	F(IS_CEVAL_GIL, INTERP, "ceval.gil") \
	F(IS_OBMALLOC, INTERP, "obmalloc") \
	F(IS_TYPES, INTERP, "types") \
	F(IS_MI_ABANDONED, INTERP, "mimalloc.abandoned_pool.abandoned") \
	F(IS_MI_VISITED, INTERP, "mimalloc.abandoned_pool.abandoned_visited") \
	F(IS_MI_SUBPROC, INTERP, "mimalloc.subproc") \
	/* PyThreadState */ \
	F(TS_PREV, TSTATE, "prev") \
	F(TS_NEXT, TSTATE, "next") \
	F(TS_INTERP, TSTATE, "interp") \
	F(TS_FRAME, TSTATE, "frame") \
	F(TS_CFRAME, TSTATE, "cframe") \
	F(TS_CURRENT_FRAME, TSTATE, "current_frame") \
	F(TS_THREAD_ID, TSTATE, "thread_id") \
	F(TS_NATIVE_THREAD_ID, TSTATE, "native_thread_id") \
	F(TS_DICT, TSTATE, "dict") \
	F(TS_CUREXC_TYPE, TSTATE, "curexc_type") \
	F(TS_CUREXC_VALUE, TSTATE, "curexc_value") \
	F(TS_CUREXC_TRACEBACK, TSTATE, "curexc_traceback") \
	F(TS_CURRENT_EXCEPTION, TSTATE, "current_exception") \
	F(TS_EXC_INFO, TSTATE, "exc_info") \
	F(TS_ASYNC_EXC, TSTATE, "async_exc") \
	F(TS_CONTEXT, TSTATE, "context") \
	F(TS_DATASTACK_CHUNK, TSTATE, "datastack_chunk") \
	/* _PyCFrame (3.10-3.12) */ \
	F(CF_CURRENT_FRAME, CFRAME, "current_frame") \
	F(CF_PREVIOUS, CFRAME, "previous") \
	/* _PyInterpreterFrame (3.11+) */ \
	F(IF_CODE, IFRAME, "f_executable|f_code") \
	F(IF_PREVIOUS, IFRAME, "previous") \
	F(IF_FUNC, IFRAME, "f_funcobj|f_func") \
	F(IF_GLOBALS, IFRAME, "f_globals") \
	F(IF_BUILTINS, IFRAME, "f_builtins") \
	F(IF_LOCALS, IFRAME, "f_locals") \
	F(IF_FRAME_OBJ, IFRAME, "frame_obj") \
	F(IF_INSTR, IFRAME, "instr_ptr|prev_instr") \
	F(IF_STACKTOP, IFRAME, "stacktop") \
	F(IF_STACKPOINTER, IFRAME, "stackpointer") \
	F(IF_OWNER, IFRAME, "owner") \
	F(IF_LOCALSPLUS, IFRAME, "localsplus") \
	/* PyFrameObject */ \
	F(FO_BACK, FRAMEOBJ, "f_back") \
	F(FO_CODE, FRAMEOBJ, "f_code") \
	F(FO_BUILTINS, FRAMEOBJ, "f_builtins") \
	F(FO_GLOBALS, FRAMEOBJ, "f_globals") \
	F(FO_LOCALS, FRAMEOBJ, "f_locals") \
	F(FO_VALUESTACK, FRAMEOBJ, "f_valuestack") \
	F(FO_STACKTOP, FRAMEOBJ, "f_stacktop") \
	F(FO_STACKDEPTH, FRAMEOBJ, "f_stackdepth") \
	F(FO_TRACE, FRAMEOBJ, "f_trace") \
	F(FO_GEN, FRAMEOBJ, "f_gen") \
	F(FO_LASTI, FRAMEOBJ, "f_lasti") \
	F(FO_LINENO, FRAMEOBJ, "f_lineno") \
	F(FO_LOCALSPLUS, FRAMEOBJ, "f_localsplus") \
	F(FO_FRAME, FRAMEOBJ, "f_frame") \
	F(FO_FRAME_DATA, FRAMEOBJ, "_f_frame_data") \
	F(FO_IBLOCK, FRAMEOBJ, "f_iblock") \
	F(FO_BLOCKSTACK, FRAMEOBJ, "f_blockstack") \
	F(TB_TYPE, TRYBLOCK, "b_type") \
	/* 2.7's old-style instances and classes */ \
	F(IN_CLASS, INSTANCE, "in_class") \
	F(IN_DICT, INSTANCE, "in_dict") \
	F(CL_BASES, CLASSOBJ, "cl_bases") \
	F(CL_DICT, CLASSOBJ, "cl_dict") \
	F(CL_NAME, CLASSOBJ, "cl_name") \
	F(CL_GETATTR, CLASSOBJ, "cl_getattr") \
	F(CL_SETATTR, CLASSOBJ, "cl_setattr") \
	F(CL_DELATTR, CLASSOBJ, "cl_delattr") \
	/* 2.7's unicode (Include/unicodeobject.h PyUnicodeObject) */ \
	F(U27_LENGTH, UNICODE, "length") \
	F(U27_STR, UNICODE, "str") \
	F(U27_DEFENC, UNICODE, "defenc") \
	/* PyCodeObject */ \
	F(CO_ARGCOUNT, CODE, "co_argcount") \
	F(CO_NLOCALS, CODE, "co_nlocals") \
	F(CO_NLOCALSPLUS, CODE, "co_nlocalsplus") \
	F(CO_FLAGS, CODE, "co_flags") \
	F(CO_STACKSIZE, CODE, "co_stacksize") \
	F(CO_FRAMESIZE, CODE, "co_framesize") \
	F(CO_CELL2ARG, CODE, "co_cell2arg") \
	F(CO_OPCACHE, CODE, "co_opcache") \
	F(CO_OPCACHE_SIZE, CODE, "co_opcache_size") \
	F(CO_FIRSTLINENO, CODE, "co_firstlineno") \
	F(CO_CODE, CODE, "co_code") \
	F(CO_CONSTS, CODE, "co_consts") \
	F(CO_NAMES, CODE, "co_names") \
	F(CO_VARNAMES, CODE, "co_varnames") \
	F(CO_FREEVARS, CODE, "co_freevars") \
	F(CO_CELLVARS, CODE, "co_cellvars") \
	F(CO_LOCALSPLUSNAMES, CODE, "co_localsplusnames") \
	F(CO_LOCALSPLUSKINDS, CODE, "co_localspluskinds") \
	F(CO_FILENAME, CODE, "co_filename") \
	F(CO_NAME, CODE, "co_name") \
	F(CO_QUALNAME, CODE, "co_qualname") \
	F(CO_LNOTAB, CODE, "co_lnotab") \
	F(CO_LINETABLE, CODE, "co_linetable") \
	F(CO_EXCEPTIONTABLE, CODE, "co_exceptiontable") \
	F(CO_FIRSTTRACEABLE, CODE, "_co_firsttraceable") \
	F(CO_EXTRA, CODE, "co_extra") \
	F(CO_CODE_ADAPTIVE, CODE, "co_code_adaptive") \
	/* PyObject / PyVarObject */ \
	F(OB_REFCNT, OBJECT, "ob_refcnt") \
	F(OB_TYPE, OBJECT, "ob_type") \
	F(OB_SIZE, VAROBJECT, "ob_size") \
	/* PyTypeObject */ \
	F(TP_NAME, TYPE, "tp_name") \
	F(TP_BASICSIZE, TYPE, "tp_basicsize") \
	F(TP_ITEMSIZE, TYPE, "tp_itemsize") \
	F(TP_DEALLOC, TYPE, "tp_dealloc") \
	F(TP_FLAGS, TYPE, "tp_flags") \
	F(TP_TRAVERSE, TYPE, "tp_traverse") \
	F(TP_WEAKLISTOFFSET, TYPE, "tp_weaklistoffset") \
	F(TP_MEMBERS, TYPE, "tp_members") \
	F(TP_BASE, TYPE, "tp_base") \
	F(TP_DICT, TYPE, "tp_dict") \
	F(TP_DICTOFFSET, TYPE, "tp_dictoffset") \
	F(TP_FREE, TYPE, "tp_free") \
	F(TP_IS_GC, TYPE, "tp_is_gc") \
	F(TP_BASES, TYPE, "tp_bases") \
	F(TP_MRO, TYPE, "tp_mro") \
	F(TP_SUBCLASSES, TYPE, "tp_subclasses") \
	F(TP_VERSION_TAG, TYPE, "tp_version_tag") \
	F(TP_DEL, TYPE, "tp_del") \
	/* PyHeapTypeObject */ \
	F(HT_NAME, HEAPTYPE, "ht_name") \
	F(HT_SLOTS, HEAPTYPE, "ht_slots") \
	F(HT_QUALNAME, HEAPTYPE, "ht_qualname") \
	F(HT_CACHED_KEYS, HEAPTYPE, "ht_cached_keys") \
	F(HT_MODULE, HEAPTYPE, "ht_module") \
	/* PyGC_Head */ \
	F(GC_NEXT, GCHEAD, "_gc_next|gc.gc_next") \
	F(GC_PREV, GCHEAD, "_gc_prev|gc.gc_prev") \
	F(GC_REFS, GCHEAD, "gc.gc_refs") \
	/* struct _gc_runtime_state and struct gc_generation */ \
	F(GCS_ENABLED, GCSTATE, "enabled") \
	F(GCS_DEBUG, GCSTATE, "debug") \
	/* 3.14.0-3.14.4's incremental GC names its lists young, old[2] at \
	 * the offsets of generations[3] (INTERNALS-2026 §6.1) */ \
	F(GCS_GENERATIONS, GCSTATE, "generations|young") \
	F(GCS_GENERATION0, GCSTATE, "generation0") \
	F(GCS_PERMANENT, GCSTATE, "permanent_generation") \
	F(GCS_STATS, GCSTATE, "generation_stats") \
	F(GCS_COLLECTING, GCSTATE, "collecting") \
	F(GCS_GARBAGE, GCSTATE, "garbage") \
	F(GCS_CALLBACKS, GCSTATE, "callbacks") \
	F(GCS_LONG_LIVED_TOTAL, GCSTATE, "long_lived_total") \
	F(GCS_LONG_LIVED_PENDING, GCSTATE, "long_lived_pending") \
	F(GCS_HEAP_SIZE, GCSTATE, "heap_size") \
	F(GEN_HEAD, GCGEN, "head") \
	F(GEN_THRESHOLD, GCGEN, "threshold") \
	F(GEN_COUNT, GCGEN, "count") \
	/* struct _gil_runtime_state */ \
	F(GIL_LAST_HOLDER, GIL, "last_holder") \
	F(GIL_LOCKED, GIL, "locked") \
	F(GIL_SWITCH_NUMBER, GIL, "switch_number") \
	/* struct _obmalloc_state (3.12+) */ \
	F(OBS_USEDPOOLS, OBMSTATE, "pools.used") \
	F(OBS_ARENAS, OBMSTATE, "mgmt.arenas") \
	F(OBS_MAXARENAS, OBMSTATE, "mgmt.maxarenas") \
	F(OBS_UNUSED_ARENA_OBJECTS, OBMSTATE, "mgmt.unused_arena_objects") \
	F(OBS_USABLE_ARENAS, OBMSTATE, "mgmt.usable_arenas") \
	F(OBS_NARENAS_CURRENTLY, OBMSTATE, "mgmt.narenas_currently_allocated") \
	F(OBS_NARENAS_HIGHWATER, OBMSTATE, "mgmt.narenas_highwater") \
	F(OBS_RAW_ALLOCATED, OBMSTATE, "mgmt.raw_allocated_blocks") \
	F(OBS_ARENA_MAP_ROOT, OBMSTATE, "usage.arena_map_root") \
	/* struct arena_object, struct pool_header */ \
	F(AO_ADDRESS, ARENA, "address") \
	F(AO_POOL_ADDRESS, ARENA, "pool_address") \
	F(AO_NFREEPOOLS, ARENA, "nfreepools") \
	F(AO_NTOTALPOOLS, ARENA, "ntotalpools") \
	F(AO_FREEPOOLS, ARENA, "freepools") \
	F(AO_NEXTARENA, ARENA, "nextarena") \
	F(AO_PREVARENA, ARENA, "prevarena") \
	F(PH_REF, POOL, "ref") \
	F(PH_FREEBLOCK, POOL, "freeblock") \
	F(PH_NEXTPOOL, POOL, "nextpool") \
	F(PH_PREVPOOL, POOL, "prevpool") \
	F(PH_ARENAINDEX, POOL, "arenaindex") \
	F(PH_SZIDX, POOL, "szidx") \
	F(PH_NEXTOFFSET, POOL, "nextoffset") \
	F(PH_MAXNEXTOFFSET, POOL, "maxnextoffset") \
	/* dict */ \
	F(MA_USED, DICT, "ma_used") \
	F(MA_VERSION_TAG, DICT, "ma_version_tag") \
	F(MA_KEYS, DICT, "ma_keys") \
	F(MA_VALUES, DICT, "ma_values") \
	F(MA_MASK, DICT, "ma_mask") /* 2.7: one table of mask + 1 entries */ \
	F(MA_TABLE, DICT, "ma_table") \
	F(MA_SMALLTABLE, DICT, "ma_smalltable") \
	F(DK_REFCNT, DICTKEYS, "dk_refcnt") \
	F(DK_SIZE, DICTKEYS, "dk_size") \
	F(DK_LOOKUP, DICTKEYS, "dk_lookup") \
	F(DK_LOG2_SIZE, DICTKEYS, "dk_log2_size") \
	F(DK_LOG2_INDEX_BYTES, DICTKEYS, "dk_log2_index_bytes") \
	F(DK_KIND, DICTKEYS, "dk_kind") \
	F(DK_USABLE, DICTKEYS, "dk_usable") \
	F(DK_NENTRIES, DICTKEYS, "dk_nentries") \
	F(DK_INDICES, DICTKEYS, "dk_indices") \
	F(DKE_HASH, DICTKEYENTRY, "me_hash") \
	F(DKE_KEY, DICTKEYENTRY, "me_key") \
	F(DKE_VALUE, DICTKEYENTRY, "me_value") \
	F(DUE_KEY, DICTUNIENTRY, "me_key") \
	F(DUE_VALUE, DICTUNIENTRY, "me_value") \
	F(DV_CAPACITY, DICTVALUES, "capacity") \
	F(DV_SIZE, DICTVALUES, "size") \
	F(DV_EMBEDDED, DICTVALUES, "embedded") \
	F(DV_VALUES, DICTVALUES, "values") \
	/* list, tuple, set */ \
	F(LIST_ITEM, LIST, "ob_item") \
	F(LIST_ALLOCATED, LIST, "allocated") \
	F(TUPLE_ITEM, TUPLE, "ob_item") \
	F(SET_FILL, SET, "fill") \
	F(SET_USED, SET, "used") \
	F(SET_MASK, SET, "mask") \
	F(SET_TABLE, SET, "table") \
	F(SET_SMALLTABLE, SET, "smalltable") \
	F(SET_WEAKREFLIST, SET, "weakreflist") \
	F(SE_KEY, SETENTRY, "key") \
	F(SE_HASH, SETENTRY, "hash") \
	/* str */ \
	F(STR_LENGTH, ASCII, "length") \
	F(STR_HASH, ASCII, "hash") \
	F(STR_STATE, ASCII, "state") \
	F(STR_WSTR, ASCII, "wstr") \
	F(CSTR_UTF8_LENGTH, COMPACTUNI, "utf8_length") \
	F(CSTR_UTF8, COMPACTUNI, "utf8") \
	F(CSTR_WSTR_LENGTH, COMPACTUNI, "wstr_length") \
	F(USTR_DATA, UNICODE, "data") \
	/* int, bytes, bytearray, float */ \
	F(LONG_LV_TAG, LONG, "long_value.lv_tag") \
	F(LONG_DIGIT, LONG, "long_value.ob_digit|ob_digit") \
	F(BYTES_SHASH, BYTES, "ob_shash") \
	F(BYTES_SVAL, BYTES, "ob_sval") \
	F(BYTES_SSTATE, BYTES, "ob_sstate") /* 2.7 str: interned */ \
	F(BA_ALLOC, BYTEARRAY, "ob_alloc") \
	F(BA_BYTES, BYTEARRAY, "ob_bytes") \
	F(BA_START, BYTEARRAY, "ob_start") \
	F(BA_EXPORTS, BYTEARRAY, "ob_exports") \
	F(FLOAT_FVAL, FLOAT, "ob_fval") \
	/* function, cell, method, generator, module */ \
	F(FUNC_CODE, FUNC, "func_code") \
	F(FUNC_GLOBALS, FUNC, "func_globals") \
	F(FUNC_BUILTINS, FUNC, "func_builtins") \
	F(FUNC_NAME, FUNC, "func_name") \
	F(FUNC_QUALNAME, FUNC, "func_qualname") \
	F(FUNC_DEFAULTS, FUNC, "func_defaults") \
	F(FUNC_KWDEFAULTS, FUNC, "func_kwdefaults") \
	F(FUNC_CLOSURE, FUNC, "func_closure") \
	F(FUNC_DOC, FUNC, "func_doc") \
	F(FUNC_DICT, FUNC, "func_dict") \
	F(FUNC_MODULE, FUNC, "func_module") \
	F(FUNC_ANNOTATIONS, FUNC, "func_annotations") \
	F(FUNC_TYPEPARAMS, FUNC, "func_typeparams") \
	F(CELL_REF, CELL, "ob_ref") \
	F(METH_FUNC, METHOD, "im_func") \
	F(METH_SELF, METHOD, "im_self") \
	F(METH_CLASS, METHOD, "im_class") \
	F(GEN_FRAME, GEN, "gi_frame") \
	F(GEN_CODE, GEN, "gi_code") \
	F(GEN_NAME, GEN, "gi_name") \
	F(GEN_QUALNAME, GEN, "gi_qualname") \
	F(GEN_FRAME_STATE, GEN, "gi_frame_state") \
	F(GEN_IFRAME, GEN, "gi_iframe") \
	F(MOD_DICT, MODULE, "md_dict") \
	F(MOD_NAME, MODULE, "md_name") \
	F(MOD_DEF, MODULE, "md_def") \
	F(MODDEF_SIZE, MODDEF, "m_size") \
	/* collections.deque, OrderedDict, io buffers (__sizeof__ needs them) */ \
	F(DQ_LEFTBLOCK, DEQUE, "leftblock") \
	F(DQ_RIGHTBLOCK, DEQUE, "rightblock") \
	F(DQ_LEFTINDEX, DEQUE, "leftindex") \
	F(DQ_RIGHTINDEX, DEQUE, "rightindex") \
	F(OD_FAST_NODES_SIZE, ODICT, "od_fast_nodes_size") \
	F(BUF_BUFFER, BUFFERED, "buffer") \
	F(BUF_BUFFER_SIZE, BUFFERED, "buffer_size") \
	F(CF_SELF, CFUNC, "m_self") \
	F(CF_MODULE, CFUNC, "m_module") \
	/* PyMemberDef, PyWeakReference */ \
	F(MD_NAME, MEMBERDEF, "name") \
	F(MD_TYPE, MEMBERDEF, "type") \
	F(MD_OFFSET, MEMBERDEF, "offset") \
	F(MD_FLAGS, MEMBERDEF, "flags") \
	F(WR_OBJECT, WEAKREF, "wr_object") \
	F(WR_CALLBACK, WEAKREF, "wr_callback") \
	/* _PyStackChunk (3.11+) */ \
	F(SC_PREVIOUS, STACKCHUNK, "previous") \
	F(SC_SIZE, STACKCHUNK, "size") \
	F(SC_TOP, STACKCHUNK, "top") \
	F(SC_DATA, STACKCHUNK, "data") \
	/* _Py_hashtable_t and its entries (3.7/3.8 layout differs) */ \
	F(HT_NENTRIES, HASHTABLE, "nentries|entries") \
	F(HT_NBUCKETS, HASHTABLE, "nbuckets|num_buckets") \
	F(HT_BUCKETS, HASHTABLE, "buckets") \
	F(HT_KEY_SIZE, HASHTABLE, "key_size") \
	F(HT_DATA_SIZE, HASHTABLE, "data_size") \
	F(HT_HASH_FUNC, HASHTABLE, "hash_func") \
	F(HT_COMPARE_FUNC, HASHTABLE, "compare_func") \
	F(HT_KEY_DESTROY_FUNC, HASHTABLE, "key_destroy_func") \
	F(HT_VALUE_DESTROY_FUNC, HASHTABLE, "value_destroy_func") \
	F(HTE_NEXT, HTENTRY, "_Py_slist_item.next") \
	F(HTE_KEY_HASH, HTENTRY, "key_hash") \
	F(HTE_KEY, HTENTRY, "key") \
	F(HTE_VALUE, HTENTRY, "value") \
	/* tracemalloc */ \
	F(TM_CONFIG, TMSTATE, "config") \
	F(TM_TRACED_MEMORY, TMSTATE, "traced_memory") \
	F(TM_PEAK_TRACED_MEMORY, TMSTATE, "peak_traced_memory") \
	F(TM_FILENAMES, TMSTATE, "filenames") \
	F(TM_TRACEBACKS, TMSTATE, "tracebacks") \
	F(TM_TRACES, TMSTATE, "traces") \
	F(TM_DOMAINS, TMSTATE, "domains") \
	F(TMT_SIZE, TMTRACE, "size") \
	F(TMT_TRACEBACK, TMTRACE, "traceback") \
	F(TMTB_HASH, TMTRACEBACK, "hash") \
	F(TMTB_NFRAME, TMTRACEBACK, "nframe") \
	F(TMTB_TOTAL_NFRAME, TMTRACEBACK, "total_nframe") \
	F(TMTB_FRAMES, TMTRACEBACK, "frames") \
	F(TMF_FILENAME, TMFRAME, "filename") \
	F(TMF_LINENO, TMFRAME, "lineno") \
	F(TMC_TRACING, TMCONFIG, "tracing") \
	F(TMC_MAX_NFRAME, TMCONFIG, "max_nframe") \
	F(TMC_USE_DOMAIN, TMCONFIG, "use_domain") \
	/* struct _Py_DebugOffsets (3.13+): positions of its u64 members */ \
	F(DO_COOKIE, DEBUGOFF, "cookie") \
	F(DO_VERSION, DEBUGOFF, "version") \
	F(DO_FREE_THREADED, DEBUGOFF, "free_threaded") \
	F(DO_RT_SIZE, DEBUGOFF, "runtime_state.size") \
	F(DO_RT_FINALIZING, DEBUGOFF, "runtime_state.finalizing") \
	F(DO_RT_INTERP_HEAD, DEBUGOFF, "runtime_state.interpreters_head") \
	F(DO_IS_SIZE, DEBUGOFF, "interpreter_state.size") \
	F(DO_IS_ID, DEBUGOFF, "interpreter_state.id") \
	F(DO_IS_NEXT, DEBUGOFF, "interpreter_state.next") \
	F(DO_IS_THREADS_HEAD, DEBUGOFF, "interpreter_state.threads_head") \
	F(DO_IS_GC, DEBUGOFF, "interpreter_state.gc") \
	F(DO_IS_MODULES, DEBUGOFF, "interpreter_state.imports_modules") \
	F(DO_IS_SYSDICT, DEBUGOFF, "interpreter_state.sysdict") \
	F(DO_IS_BUILTINS, DEBUGOFF, "interpreter_state.builtins") \
	F(DO_IS_CEVAL_GIL, DEBUGOFF, "interpreter_state.ceval_gil") \
	F(DO_TS_SIZE, DEBUGOFF, "thread_state.size") \
	F(DO_TS_PREV, DEBUGOFF, "thread_state.prev") \
	F(DO_TS_NEXT, DEBUGOFF, "thread_state.next") \
	F(DO_TS_INTERP, DEBUGOFF, "thread_state.interp") \
	F(DO_TS_CURRENT_FRAME, DEBUGOFF, "thread_state.current_frame") \
	F(DO_TS_THREAD_ID, DEBUGOFF, "thread_state.thread_id") \
	F(DO_TS_NATIVE_THREAD_ID, DEBUGOFF, "thread_state.native_thread_id") \
	F(DO_TS_DATASTACK_CHUNK, DEBUGOFF, "thread_state.datastack_chunk") \
	F(DO_IF_SIZE, DEBUGOFF, "interpreter_frame.size") \
	F(DO_IF_PREVIOUS, DEBUGOFF, "interpreter_frame.previous") \
	F(DO_IF_EXECUTABLE, DEBUGOFF, "interpreter_frame.executable") \
	F(DO_IF_INSTR_PTR, DEBUGOFF, "interpreter_frame.instr_ptr") \
	F(DO_IF_LOCALSPLUS, DEBUGOFF, "interpreter_frame.localsplus") \
	F(DO_IF_OWNER, DEBUGOFF, "interpreter_frame.owner") \
	F(DO_IF_STACKPOINTER, DEBUGOFF, "interpreter_frame.stackpointer") \
	F(DO_CO_SIZE, DEBUGOFF, "code_object.size") \
	F(DO_CO_FILENAME, DEBUGOFF, "code_object.filename") \
	F(DO_CO_NAME, DEBUGOFF, "code_object.name") \
	F(DO_CO_QUALNAME, DEBUGOFF, "code_object.qualname") \
	F(DO_CO_LINETABLE, DEBUGOFF, "code_object.linetable") \
	F(DO_CO_FIRSTLINENO, DEBUGOFF, "code_object.firstlineno") \
	F(DO_CO_ARGCOUNT, DEBUGOFF, "code_object.argcount") \
	F(DO_CO_LOCALSPLUSNAMES, DEBUGOFF, "code_object.localsplusnames") \
	F(DO_CO_LOCALSPLUSKINDS, DEBUGOFF, "code_object.localspluskinds") \
	F(DO_CO_CODE_ADAPTIVE, DEBUGOFF, "code_object.co_code_adaptive") \
	F(DO_OB_SIZE, DEBUGOFF, "pyobject.size") \
	F(DO_OB_TYPE, DEBUGOFF, "pyobject.ob_type") \
	F(DO_TP_SIZE, DEBUGOFF, "type_object.size") \
	F(DO_TP_NAME, DEBUGOFF, "type_object.tp_name") \
	F(DO_TP_FLAGS, DEBUGOFF, "type_object.tp_flags") \
	F(DO_TUPLE_SIZE, DEBUGOFF, "tuple_object.size") \
	F(DO_TUPLE_ITEM, DEBUGOFF, "tuple_object.ob_item") \
	F(DO_LIST_SIZE, DEBUGOFF, "list_object.size") \
	F(DO_LIST_ITEM, DEBUGOFF, "list_object.ob_item") \
	F(DO_DICT_SIZE, DEBUGOFF, "dict_object.size") \
	F(DO_DICT_KEYS, DEBUGOFF, "dict_object.ma_keys") \
	F(DO_DICT_VALUES, DEBUGOFF, "dict_object.ma_values") \
	F(DO_FLOAT_SIZE, DEBUGOFF, "float_object.size") \
	F(DO_FLOAT_FVAL, DEBUGOFF, "float_object.ob_fval") \
	F(DO_LONG_SIZE, DEBUGOFF, "long_object.size") \
	F(DO_LONG_LV_TAG, DEBUGOFF, "long_object.lv_tag") \
	F(DO_LONG_DIGIT, DEBUGOFF, "long_object.ob_digit") \
	F(DO_BYTES_SIZE, DEBUGOFF, "bytes_object.size") \
	F(DO_BYTES_SVAL, DEBUGOFF, "bytes_object.ob_sval") \
	F(DO_STR_SIZE, DEBUGOFF, "unicode_object.size") \
	F(DO_STR_STATE, DEBUGOFF, "unicode_object.state") \
	F(DO_STR_LENGTH, DEBUGOFF, "unicode_object.length") \
	F(DO_STR_ASCII_SIZE, DEBUGOFF, "unicode_object.asciiobject_size") \
	F(DO_GC_SIZE, DEBUGOFF, "gc.size") \
	F(DO_GC_COLLECTING, DEBUGOFF, "gc.collecting") \
	/* A free-threaded build's mimalloc (heap/mimalloc.c): each thread's \
	 * heaps, their page queues, pages and segments.  mimalloc 2.1 \
	 * (3.13) has xblock_size; 2.5 (3.14+) block_size and page_start. */ \
	F(TSI_MI_HEAPS, TSIMPL, "mimalloc.heaps") \
	F(MIH_PAGES, MIHEAP, "pages") \
	F(MIH_DELAYED, MIHEAP, "thread_delayed_free") \
	F(MIH_THREAD_ID, MIHEAP, "thread_id") \
	F(MIH_TAG, MIHEAP, "tag") \
	F(MIP_SLICE_COUNT, MIPAGE, "slice_count") \
	F(MIP_SLICE_OFFSET, MIPAGE, "slice_offset") \
	F(MIP_CAPACITY, MIPAGE, "capacity") \
	F(MIP_FREE, MIPAGE, "free") \
	F(MIP_USED, MIPAGE, "used") \
	F(MIP_XBLOCK_SIZE, MIPAGE, "xblock_size") \
	F(MIP_BLOCK_SIZE, MIPAGE, "block_size") \
	F(MIP_PAGE_START, MIPAGE, "page_start") \
	F(MIP_KEYS, MIPAGE, "keys") \
	F(MIP_LOCAL_FREE, MIPAGE, "local_free") \
	F(MIP_XTHREAD_FREE, MIPAGE, "xthread_free") \
	F(MIP_NEXT, MIPAGE, "next") \
	F(MIP_DEBUG_OFFSET, MIPAGE, "debug_offset") \
	F(MIP_HEAP_TAG, MIPAGE, "heap_tag") \
	F(MIS_SLICES, MISEGMENT, "slices") \
	F(MIS_NSLICES, MISEGMENT, "segment_slices") \
	F(MIS_ABANDONED_NEXT, MISEGMENT, "abandoned_next") \
	F(MIS_SEGMENT_SIZE, MISEGMENT, "segment_size") \
	F(MIS_SUBPROC, MISEGMENT, "subproc") \
	F(MIS_ABANDONED, MISEGMENT, "abandoned") \
	F(MIS_USED, MISEGMENT, "used") \
	F(MIS_THREAD_ID, MISEGMENT, "thread_id")

/* D(FIELD, DO_FIELD): FIELD's offset is the value stored at DO_FIELD. */
#define PY_DEBUG_OFFSETS(D) \
	D(RT_FINALIZING, DO_RT_FINALIZING) \
	D(RT_INTERP_HEAD, DO_RT_INTERP_HEAD) \
	D(IS_ID, DO_IS_ID) \
	D(IS_NEXT, DO_IS_NEXT) \
	D(IS_THREADS_HEAD, DO_IS_THREADS_HEAD) \
	D(IS_GC, DO_IS_GC) \
	D(IS_MODULES, DO_IS_MODULES) \
	D(IS_SYSDICT, DO_IS_SYSDICT) \
	D(IS_BUILTINS, DO_IS_BUILTINS) \
	D(IS_CEVAL_GIL, DO_IS_CEVAL_GIL) \
	D(TS_PREV, DO_TS_PREV) \
	D(TS_NEXT, DO_TS_NEXT) \
	D(TS_INTERP, DO_TS_INTERP) \
	D(TS_CURRENT_FRAME, DO_TS_CURRENT_FRAME) \
	D(TS_THREAD_ID, DO_TS_THREAD_ID) \
	D(TS_NATIVE_THREAD_ID, DO_TS_NATIVE_THREAD_ID) \
	D(TS_DATASTACK_CHUNK, DO_TS_DATASTACK_CHUNK) \
	D(IF_PREVIOUS, DO_IF_PREVIOUS) \
	D(IF_CODE, DO_IF_EXECUTABLE) \
	D(IF_INSTR, DO_IF_INSTR_PTR) \
	D(IF_LOCALSPLUS, DO_IF_LOCALSPLUS) \
	D(IF_OWNER, DO_IF_OWNER) \
	D(IF_STACKPOINTER, DO_IF_STACKPOINTER) \
	D(CO_FILENAME, DO_CO_FILENAME) \
	D(CO_NAME, DO_CO_NAME) \
	D(CO_QUALNAME, DO_CO_QUALNAME) \
	D(CO_LINETABLE, DO_CO_LINETABLE) \
	D(CO_FIRSTLINENO, DO_CO_FIRSTLINENO) \
	D(CO_ARGCOUNT, DO_CO_ARGCOUNT) \
	D(CO_LOCALSPLUSNAMES, DO_CO_LOCALSPLUSNAMES) \
	D(CO_LOCALSPLUSKINDS, DO_CO_LOCALSPLUSKINDS) \
	D(CO_CODE_ADAPTIVE, DO_CO_CODE_ADAPTIVE) \
	D(OB_TYPE, DO_OB_TYPE) \
	D(TP_NAME, DO_TP_NAME) \
	D(TP_FLAGS, DO_TP_FLAGS) \
	D(TUPLE_ITEM, DO_TUPLE_ITEM) \
	D(LIST_ITEM, DO_LIST_ITEM) \
	D(MA_KEYS, DO_DICT_KEYS) \
	D(MA_VALUES, DO_DICT_VALUES) \
	D(FLOAT_FVAL, DO_FLOAT_FVAL) \
	D(LONG_LV_TAG, DO_LONG_LV_TAG) \
	D(LONG_DIGIT, DO_LONG_DIGIT) \
	D(BYTES_SVAL, DO_BYTES_SVAL) \
	D(STR_STATE, DO_STR_STATE) \
	D(STR_LENGTH, DO_STR_LENGTH) \
	D(GCS_COLLECTING, DO_GC_COLLECTING)

/* Z(STRUCT, DO_FIELD): sizeof(STRUCT) is the value stored at DO_FIELD. */
#define PY_DEBUG_SIZES(Z) \
	Z(RUNTIME, DO_RT_SIZE) \
	Z(INTERP, DO_IS_SIZE) \
	Z(TSTATE, DO_TS_SIZE) \
	Z(IFRAME, DO_IF_SIZE) \
	Z(CODE, DO_CO_SIZE) \
	Z(OBJECT, DO_OB_SIZE) \
	Z(TYPE, DO_TP_SIZE) \
	Z(TUPLE, DO_TUPLE_SIZE) \
	Z(LIST, DO_LIST_SIZE) \
	Z(DICT, DO_DICT_SIZE) \
	Z(FLOAT, DO_FLOAT_SIZE) \
	Z(LONG, DO_LONG_SIZE) \
	Z(BYTES, DO_BYTES_SIZE) \
	Z(UNICODE, DO_STR_SIZE) \
	Z(ASCII, DO_STR_ASCII_SIZE) \
	Z(GCSTATE, DO_GC_SIZE)

#endif
