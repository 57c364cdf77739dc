/* sample_cext._speedups: the FNV-1a 32-bit hash of a bytes-like object, in C. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

static PyObject *
fnv1a(PyObject *self, PyObject *args)
{
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view)) {
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)view.buf;
    uint32_t hash = 2166136261u;
    for (Py_ssize_t i = 0; i < view.len; i++) {
        hash ^= data[i];
        hash *= 16777619u;
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(hash);
}

static PyMethodDef methods[] = {
    {"fnv1a", fnv1a, METH_VARARGS, "fnv1a(data, /) -> int: FNV-1a 32-bit hash of bytes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "FNV-1a in C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
