/* A* on a 4-connected tile grid, in C: the same search as Pathfinder._search in
 * pathfinding.py, which stays the reference (tests compare the two on many pairs).
 *
 * The pop order is fixed by the key (f, -g, tile): every key pushed is distinct (a tile is
 * pushed again only at a lower cost), so any min-heap pops the keys in the same order as the
 * Python version's heapq, and the first parent found at a tile's best cost is kept. Hence the
 * same path, tile for tile.
 *
 *   g = graph(walkable: bytes, width, height) -> capsule
 *   search(g, s, goal) -> list[int] | None   (flat tile indices, start excluded; None: no route)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    Py_ssize_t n, width, height;
    int32_t *off;      /* CSR: neighbours of i are nbr[off[i] .. off[i+1]) */
    int32_t *nbr;
    unsigned char *walk;
    int64_t *cost;     /* per-search scratch, reset over the tiles touched */
    int32_t *came;
    int32_t *touched;
    Py_ssize_t ntouched;
    uint64_t *heap_fg;  /* heap entries: (f << 32 | (2^32-1 - g)) and tile, compared as a pair */
    int32_t *heap_t;
    Py_ssize_t heap_n, heap_cap;
} Graph;

#define COST_INF INT64_MAX

static void graph_release(Graph *G) {
    free(G->off); free(G->nbr); free(G->walk); free(G->cost); free(G->came); free(G->touched);
    free(G->heap_fg); free(G->heap_t); free(G);
}

static void graph_free(PyObject *cap) {
    Graph *G = (Graph *)PyCapsule_GetPointer(cap, "smallville.astar");
    if (G) graph_release(G);
}

static PyObject *graph(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t w, h;
    if (!PyArg_ParseTuple(args, "y*nn", &buf, &w, &h)) return NULL;
    if (w <= 0 || h <= 0 || buf.len != w * h || w * h >= INT32_MAX) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "walkable must hold width*height bytes");
        return NULL;
    }
    Py_ssize_t n = w * h;
    Graph *G = calloc(1, sizeof(Graph));
    if (!G) { PyBuffer_Release(&buf); return PyErr_NoMemory(); }
    G->n = n; G->width = w; G->height = h;
    G->walk = malloc(n);
    G->off = malloc((n + 1) * sizeof(int32_t));
    G->nbr = malloc(4 * n * sizeof(int32_t) + 4);
    G->cost = malloc(n * sizeof(int64_t));
    G->came = malloc(n * sizeof(int32_t));
    G->touched = malloc(n * sizeof(int32_t));
    G->heap_cap = 1024;
    G->heap_fg = malloc(G->heap_cap * sizeof(uint64_t));
    G->heap_t = malloc(G->heap_cap * sizeof(int32_t));
    if (!G->walk || !G->off || !G->nbr || !G->cost || !G->came || !G->touched || !G->heap_fg || !G->heap_t) {
        PyBuffer_Release(&buf);
        graph_release(G);
        return PyErr_NoMemory();
    }
    const unsigned char *src = (const unsigned char *)buf.buf;
    for (Py_ssize_t i = 0; i < n; i++) G->walk[i] = src[i] ? 1 : 0;
    PyBuffer_Release(&buf);
    /* neighbours in the Python version's order: x+1, x-1, y+1, y-1 */
    int32_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        G->off[i] = k;
        G->cost[i] = COST_INF;
        if (!G->walk[i]) continue;
        Py_ssize_t x = i % w, y = i / w;
        if (x + 1 < w && G->walk[i + 1]) G->nbr[k++] = (int32_t)(i + 1);
        if (x > 0 && G->walk[i - 1]) G->nbr[k++] = (int32_t)(i - 1);
        if (y + 1 < h && G->walk[i + w]) G->nbr[k++] = (int32_t)(i + w);
        if (y > 0 && G->walk[i - w]) G->nbr[k++] = (int32_t)(i - w);
    }
    G->off[n] = k;
    PyObject *cap = PyCapsule_New(G, "smallville.astar", graph_free);
    if (!cap) graph_release(G);
    return cap;
}

static inline int key_less(uint64_t a_fg, int32_t a_t, uint64_t b_fg, int32_t b_t) {
    return a_fg < b_fg || (a_fg == b_fg && a_t < b_t);
}

static int heap_push(Graph *G, uint64_t fg, int32_t t) {
    if (G->heap_n == G->heap_cap) {
        Py_ssize_t cap = G->heap_cap * 2;
        uint64_t *a = realloc(G->heap_fg, cap * sizeof(uint64_t));
        if (!a) return -1;
        G->heap_fg = a;
        int32_t *b = realloc(G->heap_t, cap * sizeof(int32_t));
        if (!b) return -1;
        G->heap_t = b;
        G->heap_cap = cap;
    }
    Py_ssize_t i = G->heap_n++;
    while (i > 0) {
        Py_ssize_t p = (i - 1) >> 1;
        if (!key_less(fg, t, G->heap_fg[p], G->heap_t[p])) break;
        G->heap_fg[i] = G->heap_fg[p]; G->heap_t[i] = G->heap_t[p];
        i = p;
    }
    G->heap_fg[i] = fg; G->heap_t[i] = t;
    return 0;
}

static void heap_pop(Graph *G, uint64_t *fg, int32_t *t) {
    *fg = G->heap_fg[0]; *t = G->heap_t[0];
    Py_ssize_t n = --G->heap_n;
    if (n == 0) return;
    uint64_t lf = G->heap_fg[n]; int32_t lt = G->heap_t[n];
    Py_ssize_t i = 0;
    for (;;) {
        Py_ssize_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && key_less(G->heap_fg[c + 1], G->heap_t[c + 1], G->heap_fg[c], G->heap_t[c])) c++;
        if (!key_less(G->heap_fg[c], G->heap_t[c], lf, lt)) break;
        G->heap_fg[i] = G->heap_fg[c]; G->heap_t[i] = G->heap_t[c];
        i = c;
    }
    G->heap_fg[i] = lf; G->heap_t[i] = lt;
}

static PyObject *search(PyObject *self, PyObject *args) {
    PyObject *cap;
    Py_ssize_t s, g;
    if (!PyArg_ParseTuple(args, "Onn", &cap, &s, &g)) return NULL;
    Graph *G = (Graph *)PyCapsule_GetPointer(cap, "smallville.astar");
    if (!G) return NULL;
    if (s < 0 || g < 0 || s >= G->n || g >= G->n) {
        PyErr_SetString(PyExc_IndexError, "tile out of the grid");
        return NULL;
    }
    const Py_ssize_t w = G->width;
    const int64_t gx = g % w, gy = g / w;
    const uint64_t GMAX = 0xffffffffu;
    int found = 0, nomem = 0;
    G->heap_n = 0;
    G->ntouched = 0;
    G->cost[s] = 0;
    G->touched[G->ntouched++] = (int32_t)s;
    {
        int64_t h0 = llabs((int64_t)(s % w) - gx) + llabs((int64_t)(s / w) - gy);
        if (heap_push(G, ((uint64_t)h0 << 32) | (GMAX - 0), (int32_t)s) < 0) nomem = 1;
    }
    while (!nomem && G->heap_n > 0) {
        uint64_t fg; int32_t cur;
        heap_pop(G, &fg, &cur);
        if (cur == g) { found = 1; break; }
        int64_t c = (int64_t)(GMAX - (fg & GMAX));
        if (c > G->cost[cur]) continue;
        int64_t c1 = c + 1;
        for (int32_t j = G->off[cur]; j < G->off[cur + 1]; j++) {
            int32_t nb = G->nbr[j];
            int64_t old = G->cost[nb];
            if (c1 < old) {
                if (old == COST_INF) G->touched[G->ntouched++] = nb;
                G->cost[nb] = c1;
                G->came[nb] = cur;
                int64_t f = c1 + llabs((int64_t)(nb % w) - gx) + llabs((int64_t)(nb / w) - gy);
                if (heap_push(G, ((uint64_t)f << 32) | (GMAX - (uint64_t)c1), nb) < 0) { nomem = 1; break; }
            }
        }
    }
    PyObject *out = NULL;
    if (nomem) {
        PyErr_NoMemory();
    } else if (!found) {
        Py_INCREF(Py_None);
        out = Py_None;
    } else {
        Py_ssize_t len = 0;
        for (int32_t cur = (int32_t)g; cur != s; cur = G->came[cur]) len++;
        out = PyList_New(len);
        if (out) {
            Py_ssize_t i = len;
            for (int32_t cur = (int32_t)g; cur != s; cur = G->came[cur]) {
                PyObject *v = PyLong_FromLong(cur);
                if (!v) { Py_CLEAR(out); break; }
                PyList_SET_ITEM(out, --i, v);
            }
        }
    }
    for (Py_ssize_t i = 0; i < G->ntouched; i++) G->cost[G->touched[i]] = COST_INF;
    return out;
}

static PyMethodDef methods[] = {
    {"graph", graph, METH_VARARGS, "graph(walkable: bytes, width, height) -> the grid's neighbour lists"},
    {"search", search, METH_VARARGS, "search(graph, start, goal) -> flat tiles after start up to goal, or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_astar", "A* on a tile grid (see pathfinding.py)", -1, methods};

PyMODINIT_FUNC PyInit__astar(void) { return PyModule_Create(&module); }
