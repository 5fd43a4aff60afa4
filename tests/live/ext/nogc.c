/*
 * Test extension for live_garbage (tests/live/suite_garbage.py), built by
 * the suite against the target interpreter's own headers.
 *
 * nogc.Box: a request-like object with a __dict__ and no GC support, as
 *   mod_python's request object was: a cycle through it is invisible to
 *   the cyclic collector and is never freed.
 * nogc.GcBox: the same with GC support (the negative control).
 * nogc.leak(o): takes a reference to o and never gives it back (an
 *   extension's missing Py_DECREF).
 * nogc.hold(o): keeps o in a C static variable.
 */
#include <Python.h>
#include <stddef.h>

typedef struct {
	PyObject_HEAD
	PyObject *dict;
} Box;

static void box_dealloc(PyObject *self)
{
	Py_XDECREF(((Box *)self)->dict);
	Py_TYPE(self)->tp_free(self);
}

static PyTypeObject BoxType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "nogc.Box",
	.tp_basicsize = sizeof(Box),
	.tp_dealloc = box_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_dictoffset = offsetof(Box, dict),
	.tp_new = PyType_GenericNew,
	.tp_getattro = PyObject_GenericGetAttr,
	.tp_setattro = PyObject_GenericSetAttr,
};

static int gcbox_traverse(PyObject *self, visitproc visit, void *arg)
{
	Py_VISIT(((Box *)self)->dict);
	return 0;
}

static int gcbox_clear(PyObject *self)
{
	Py_CLEAR(((Box *)self)->dict);
	return 0;
}

static void gcbox_dealloc(PyObject *self)
{
	PyObject_GC_UnTrack(self);
	gcbox_clear(self);
	Py_TYPE(self)->tp_free(self);
}

static PyTypeObject GcBoxType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "nogc.GcBox",
	.tp_basicsize = sizeof(Box),
	.tp_dealloc = gcbox_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_traverse = gcbox_traverse,
	.tp_clear = gcbox_clear,
	.tp_dictoffset = offsetof(Box, dict),
	.tp_new = PyType_GenericNew,
	.tp_getattro = PyObject_GenericGetAttr,
	.tp_setattro = PyObject_GenericSetAttr,
};

static PyObject *held;

static PyObject *nogc_leak(PyObject *mod, PyObject *o)
{
	(void)mod;
	Py_INCREF(o); /* and never a Py_DECREF */
	Py_RETURN_NONE;
}

static PyObject *nogc_hold(PyObject *mod, PyObject *o)
{
	(void)mod;
	Py_INCREF(o);
	Py_XSETREF(held, o);
	Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
	{ "leak", nogc_leak, METH_O, NULL },
	{ "hold", nogc_hold, METH_O, NULL },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef mod = {
	PyModuleDef_HEAD_INIT, "nogc", NULL, -1, methods,
	NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_nogc(void)
{
	PyObject *m;

	if (PyType_Ready(&BoxType) < 0 || PyType_Ready(&GcBoxType) < 0)
		return NULL;
	m = PyModule_Create(&mod);
	if (!m)
		return NULL;
	Py_INCREF(&BoxType);
	Py_INCREF(&GcBoxType);
	if (PyModule_AddObject(m, "Box", (PyObject *)&BoxType) < 0 ||
	    PyModule_AddObject(m, "GcBox", (PyObject *)&GcBoxType) < 0)
		return NULL;
	return m;
}
