/* pastalog._cwrite: Log.write's common case in C (optional; see client.py).
 *
 * write(series, value, step=None) for a known series (an exact str key of the Log's
 * series dict), an exact float or int value and an implicit step or an exact int within
 * +-(2**53-1) on an absolute series. Everything else -- a new series, a bool or numpy
 * value, a bad name, value or step, an explicit step on a relative series -- is handed
 * to client.py's pure-Python write (``slow``), which raises the same errors it always
 * has. The C path runs without releasing the GIL and calls no Python code until the
 * point is in the buffer, so (as in the pure path's one array.extend) no other thread
 * or signal handler can see half a point: no lock is needed.
 *
 * Series: name, next (the next implicit step), relative, split (as client._Series) and
 * buf, a growable float64 buffer of (step, value, time) triples: len() counts doubles,
 * extend(seq) appends, take(n) removes the first n doubles and returns them as bytes.
 * The time is the wall clock, computed as time.time() computes it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>
#include <time.h>

#define MAX_STEP 9007199254740991LL     /* 2**53-1, limits.MAX_STEP */

/* ---- Buf ------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    double *data;
    Py_ssize_t len, cap;    /* in doubles */
} Buf;

static PyTypeObject BufType;

static int
buf_reserve(Buf *b, Py_ssize_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap ? b->cap : 96;
    while (cap < b->len + more) {
        if (cap > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(double)) {
            PyErr_NoMemory();
            return -1;
        }
        cap *= 2;
    }
    double *data = PyMem_Realloc(b->data, (size_t)cap * sizeof(double));
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static void
buf_dealloc(Buf *b)
{
    PyMem_Free(b->data);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

static Py_ssize_t
buf_length(Buf *b)
{
    return b->len;
}

static PyObject *
buf_extend(Buf *b, PyObject *seq)
{
    PyObject *fast = PySequence_Fast(seq, "extend() needs a sequence of numbers");
    if (fast == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    double *tmp = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(double));
    if (tmp == NULL) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    /* convert first (that may run Python code), then append all at once */
    for (Py_ssize_t i = 0; i < n; i++) {
        tmp[i] = PyFloat_AsDouble(items[i]);
        if (tmp[i] == -1.0 && PyErr_Occurred()) {
            PyMem_Free(tmp);
            Py_DECREF(fast);
            return NULL;
        }
    }
    Py_DECREF(fast);
    if (buf_reserve(b, n) < 0) {
        PyMem_Free(tmp);
        return NULL;
    }
    memcpy(b->data + b->len, tmp, (size_t)n * sizeof(double));
    b->len += n;
    PyMem_Free(tmp);
    Py_RETURN_NONE;
}

static PyObject *
buf_take(Buf *b, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 0 || n > b->len) {
        PyErr_Format(PyExc_ValueError, "take(%zd) of a buffer of %zd", n, b->len);
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize((const char *)b->data,
                                              n * (Py_ssize_t)sizeof(double));
    if (out == NULL)
        return NULL;
    b->len -= n;
    memmove(b->data, b->data + n, (size_t)b->len * sizeof(double));
    if (b->len == 0 && b->cap > 65536) {     /* give a burst's memory back */
        PyMem_Free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
    return out;
}

static PyMethodDef buf_methods[] = {
    {"extend", (PyCFunction)buf_extend, METH_O,
     "extend(seq): append these numbers (a (step, value, time) triple per point)."},
    {"take", (PyCFunction)buf_take, METH_O,
     "take(n) -> bytes: remove the first n doubles and return them (native float64)."},
    {NULL}
};

static PySequenceMethods buf_as_sequence = {
    .sq_length = (lenfunc)buf_length,
};

static PyTypeObject BufType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pastalog._cwrite.Buf",
    .tp_basicsize = sizeof(Buf),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A growable float64 buffer of (step, value, time) triples.",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)buf_dealloc,
    .tp_as_sequence = &buf_as_sequence,
    .tp_methods = buf_methods,
};

/* ---- Series ---------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *name;
    long long next;
    char relative;
    PyObject *split;
    Buf *buf;
    PyObject *put;
} Series;

static PyTypeObject SeriesType;

static int
series_init(Series *s, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", "relative", NULL};
    PyObject *name;
    int relative = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|p", kwlist, &name, &relative))
        return -1;
    Py_INCREF(name);
    Py_XSETREF(s->name, name);
    s->relative = (char)relative;
    s->next = 0;
    Py_INCREF(Py_None);
    Py_XSETREF(s->split, Py_None);
    if (s->buf == NULL) {
        s->buf = (Buf *)PyObject_CallNoArgs((PyObject *)&BufType);
        if (s->buf == NULL)
            return -1;
        s->put = PyObject_GetAttrString((PyObject *)s->buf, "extend");
        if (s->put == NULL)
            return -1;
    }
    return 0;
}

static int
series_traverse(Series *s, visitproc visit, void *arg)
{
    Py_VISIT(s->name);
    Py_VISIT(s->split);
    Py_VISIT(s->put);
    return 0;
}

static int
series_clear(Series *s)
{
    Py_CLEAR(s->name);
    Py_CLEAR(s->split);
    Py_CLEAR(s->put);
    Py_CLEAR(s->buf);
    return 0;
}

static void
series_dealloc(Series *s)
{
    PyObject_GC_UnTrack(s);
    series_clear(s);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyMemberDef series_members[] = {
    {"name", T_OBJECT, offsetof(Series, name), READONLY, NULL},
    {"next", T_LONGLONG, offsetof(Series, next), 0, "the next implicit step"},
    {"relative", T_BOOL, offsetof(Series, relative), 0, NULL},
    {"split", T_OBJECT, offsetof(Series, split), 0, NULL},
    {"buf", T_OBJECT, offsetof(Series, buf), READONLY, NULL},
    {"put", T_OBJECT, offsetof(Series, put), READONLY, NULL},
    {NULL}
};

static PyTypeObject SeriesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pastalog._cwrite.Series",
    .tp_basicsize = sizeof(Series),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Series(name, relative=False): one series' write buffer (see client._Series).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)series_init,
    .tp_traverse = (traverseproc)series_traverse,
    .tp_clear = (inquiry)series_clear,
    .tp_dealloc = (destructor)series_dealloc,
    .tp_members = series_members,
};

/* ---- Writer: the base of client.Log ----------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *series;       /* dict: name -> Series */
    Py_ssize_t wake_len;    /* wake the sender when a buffer reaches this many doubles */
    PyObject *wake;         /* the sender's Wake (its set() is called) */
} Writer;

static PyObject *slow_write = NULL;     /* client._write_py(self, series, value, step) */
static PyObject *str_set = NULL;

static PyObject *
writer_slow(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (slow_write == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "pastalog._cwrite is not configured");
        return NULL;
    }
    Py_ssize_t n = nargs + (kwnames ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *small[8], **stack = small;
    if (n + 1 > 8 && (stack = PyMem_Malloc((size_t)(n + 1) * sizeof(PyObject *))) == NULL)
        return PyErr_NoMemory();
    stack[0] = self;
    for (Py_ssize_t i = 0; i < n; i++)
        stack[i + 1] = args[i];
    PyObject *r = PyObject_Vectorcall(slow_write, stack, (size_t)(nargs + 1), kwnames);
    if (stack != small)
        PyMem_Free(stack);
    return r;
}

static inline double
wall_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* as time.time(): nanoseconds as a double, then / 1e9 */
    return (double)((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec) / 1e9;
}

static PyObject *
writer_write(Writer *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (kwnames != NULL || nargs < 2 || nargs > 3 || self->series == NULL)
        goto slow;
    PyObject *name = args[0], *value = args[1];
    PyObject *step_obj = nargs == 3 ? args[2] : Py_None;
    if (!PyUnicode_CheckExact(name) || !PyDict_CheckExact(self->series))
        goto slow;
    double v;
    if (PyFloat_CheckExact(value))
        v = PyFloat_AS_DOUBLE(value);
    else if (PyLong_CheckExact(value)) {         /* float(int), as the pure write does */
        v = PyLong_AsDouble(value);
        if (v == -1.0 && PyErr_Occurred()) {    /* too large: the pure write says so */
            PyErr_Clear();
            goto slow;
        }
    }
    else
        goto slow;
    PyObject *found = PyDict_GetItemWithError(self->series, name);   /* borrowed */
    if (found == NULL) {
        if (PyErr_Occurred())
            return NULL;
        goto slow;
    }
    if (!Py_IS_TYPE(found, &SeriesType))
        goto slow;
    Series *s = (Series *)found;
    long long step;
    if (step_obj == Py_None) {
        step = s->next;
        if (step > MAX_STEP)
            goto slow;
    }
    else {
        if (!PyLong_CheckExact(step_obj) || s->relative)
            goto slow;
        int overflow;
        step = PyLong_AsLongLongAndOverflow(step_obj, &overflow);
        if (overflow || step < -MAX_STEP || step > MAX_STEP)
            goto slow;
    }
    Buf *b = s->buf;
    if (buf_reserve(b, 3) < 0)
        return NULL;
    double *p = b->data + b->len;
    p[0] = (double)step;
    p[1] = v;
    p[2] = wall_time();
    b->len += 3;
    s->next = step + 1;
    if (b->len >= self->wake_len && self->wake != NULL) {
        PyObject *r = PyObject_CallMethodNoArgs(self->wake, str_set);
        if (r == NULL)
            return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
slow:
    return writer_slow((PyObject *)self, args, nargs, kwnames);
}

static int
writer_traverse(Writer *w, visitproc visit, void *arg)
{
    Py_VISIT(w->series);
    Py_VISIT(w->wake);
    return 0;
}

static int
writer_clear(Writer *w)
{
    Py_CLEAR(w->series);
    Py_CLEAR(w->wake);
    return 0;
}

static void
writer_dealloc(Writer *w)
{
    PyObject_GC_UnTrack(w);
    writer_clear(w);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

static PyObject *
writer_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Writer *w = (Writer *)type->tp_alloc(type, 0);
    if (w != NULL)
        w->wake_len = 3;
    return (PyObject *)w;
}

PyDoc_STRVAR(write_doc,
"write($self, /, series, value, step=None)\n--\n\n"
"Log ``value`` of ``series`` at ``step`` (default: the series' last step + 1).\n\n"
"Parameters\n----------\n"
"series : str\n    Series name; ``/`` groups (``conv1/mean``).\n"
"value : float, int, bool, numpy scalar or anything with ``.item()``\n"
"step : int, optional\n    Within +-(2**53-1).\n\n"
"Raises\n------\n"
"InvalidName, InvalidValue\n    At once, for a bad name, value or step; nothing is logged then.\n");

static PyMethodDef writer_methods[] = {
    {"write", (PyCFunction)(void (*)(void))writer_write, METH_FASTCALL | METH_KEYWORDS,
     write_doc},
    {NULL}
};

static PyMemberDef writer_members[] = {
    {"_series", T_OBJECT_EX, offsetof(Writer, series), 0, "name -> Series"},
    {"_wake_len", T_PYSSIZET, offsetof(Writer, wake_len), 0, NULL},
    {"_wake", T_OBJECT_EX, offsetof(Writer, wake), 0, NULL},
    {NULL}
};

static PyTypeObject WriterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pastalog._cwrite.Writer",
    .tp_basicsize = sizeof(Writer),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The compiled base of pastalog.Log: its write().",
    .tp_new = writer_new,
    .tp_traverse = (traverseproc)writer_traverse,
    .tp_clear = (inquiry)writer_clear,
    .tp_dealloc = (destructor)writer_dealloc,
    .tp_methods = writer_methods,
    .tp_members = writer_members,
};

/* ---- module ---------------------------------------------------------------------- */

static PyObject *
configure(PyObject *module, PyObject *slow)
{
    if (!PyCallable_Check(slow)) {
        PyErr_SetString(PyExc_TypeError, "configure(slow): slow must be callable");
        return NULL;
    }
    Py_INCREF(slow);
    Py_XSETREF(slow_write, slow);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", configure, METH_O,
     "configure(slow): the pure-Python write(self, series, value, step=None) that takes "
     "every case the compiled one does not."},
    {NULL}
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "pastalog._cwrite",
    "Log.write's common case in C (optional: client.py falls back to pure Python).",
    -1, module_methods,
};

PyMODINIT_FUNC
PyInit__cwrite(void)
{
    if (PyType_Ready(&BufType) < 0 || PyType_Ready(&SeriesType) < 0
            || PyType_Ready(&WriterType) < 0)
        return NULL;
    str_set = PyUnicode_InternFromString("set");
    if (str_set == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    Py_INCREF(&BufType);
    Py_INCREF(&SeriesType);
    Py_INCREF(&WriterType);
    if (PyModule_AddObject(m, "Buf", (PyObject *)&BufType) < 0
            || PyModule_AddObject(m, "Series", (PyObject *)&SeriesType) < 0
            || PyModule_AddObject(m, "Writer", (PyObject *)&WriterType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
