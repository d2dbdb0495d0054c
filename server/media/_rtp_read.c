/* The lean receive path's per-packet front in C: one call per incoming SRTP packet unprotects
 * it with libsrtp's srtp_unprotect and reads it as server/media/rtp_reader.py's read_rtp does,
 * into a rtp_reader.ReceivedPacket. read_rtp stays the reference (the tests hold this reader to
 * it) and, with pylibsrtp's Session.unprotect, the fallback where this module is not built;
 * compiled_receive.py says where the SRTP context and srtp_unprotect come from.
 *
 * Why: in a room of 8 the CPython interpreter was about half of the server's CPU, much of it
 * per incoming packet: the cffi call of each unprotect, then the header read in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define MAX_PACKET 1500 /* pylibsrtp's buffer: it refuses longer packets (ValueError) */
#define ONE_BYTE_PROFILE 0xBEDE
#define TWO_BYTE_PROFILE 0x1000 /* RFC 8285: 0x100 and four application bits */

typedef int (*unprotect_fn)(void *ctx, void *srtp_header, int *length);

/* ReceivedPacket's fields in its order; set_packet_type() finds each one's slot. */
enum {
    F_SSRC, F_SEQUENCE_NUMBER, F_TIMESTAMP, F_MARKER, F_PAYLOAD_TYPE, F_PAYLOAD,
    F_PADDING_SIZE, F_AUDIO_LEVEL, F_ABS_SEND_TIME, F_RID, F_REPAIRED_RID,
    F_TRANSPORT_SEQUENCE, FIELD_COUNT
};
static const char *field_names[FIELD_COUNT] = {
    "ssrc", "sequence_number", "timestamp", "marker", "payload_type", "payload",
    "padding_size", "audio_level", "abs_send_time", "rid", "repaired_rid",
    "transport_sequence"};

/* The dataclass and its slots' descriptors: the packet is made by setting each slot, as its
 * __init__ would but without running Python code. */
static PyTypeObject *packet_type;
static PyObject *field_slots[FIELD_COUNT];

static uint8_t buffer[MAX_PACKET];

typedef struct {
    PyObject_HEAD
    PyObject *owner; /* the pylibsrtp session that owns the context, kept alive */
    void *srtp;
    unprotect_fn unprotect;
    /* 0: not negotiated */
    long audio_level_id, abs_send_time_id, rid_id, repaired_rid_id, transport_sequence_id;
} SrtpReader;

/* What read_rtp's packet gets from the extension block: -1 where nothing was read. */
typedef struct {
    int audio_level;
    long abs_send_time, transport_sequence;
    Py_ssize_t rid_at, rid_length, repaired_rid_at, repaired_rid_length;
} Extensions;

/* As rtp_reader._read_extensions on data[pos:end]: 0 when an element runs past the block. */
static int
read_extensions(const SrtpReader *self, const uint8_t *data, Py_ssize_t pos, Py_ssize_t end,
                unsigned int profile, Extensions *out)
{
    int two_byte;
    if (profile == ONE_BYTE_PROFILE)
        two_byte = 0;
    else if ((profile & 0xFFF0) == TWO_BYTE_PROFILE)
        two_byte = 1;
    else
        return 1; /* a profile nobody negotiated: no elements to read */
    while (pos < end) {
        unsigned int head = data[pos];
        long ext_id;
        Py_ssize_t length;
        if (head == 0) { /* padding between elements */
            pos++;
            continue;
        }
        if (two_byte) {
            if (pos + 2 > end)
                return 0;
            ext_id = head;
            length = data[pos + 1];
            pos += 2;
        }
        else {
            if (head >> 4 == 15) /* RFC 8285: stop reading the block */
                return 1;
            ext_id = head >> 4;
            length = (head & 0x0F) + 1;
            pos++;
        }
        if (pos + length > end)
            return 0;
        if (ext_id == self->audio_level_id && length >= 1)
            out->audio_level = data[pos];
        else if (ext_id == self->abs_send_time_id && length >= 3)
            out->abs_send_time = (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2];
        else if (ext_id == self->rid_id) {
            out->rid_at = pos;
            out->rid_length = length;
        }
        else if (ext_id == self->repaired_rid_id) {
            out->repaired_rid_at = pos;
            out->repaired_rid_length = length;
        }
        else if (ext_id == self->transport_sequence_id && length >= 2)
            out->transport_sequence = (data[pos] << 8) | data[pos + 1];
        pos += length;
    }
    return 1;
}

static PyObject *
rid_value(const uint8_t *data, Py_ssize_t at, Py_ssize_t length)
{
    if (at < 0)
        Py_RETURN_NONE;
    return PyUnicode_DecodeASCII((const char *)data + at, length, "replace");
}

static PyObject *
audio_level_value(int value)
{
    if (value < 0)
        Py_RETURN_NONE;
    return Py_BuildValue("(Oi)", value > 0x7F ? Py_True : Py_False, value & 0x7F);
}

/* A ReceivedPacket of these values, each a new reference (or NULL: an error, released here). */
static PyObject *
new_packet(PyObject *values[FIELD_COUNT])
{
    PyObject *packet = NULL;
    for (int i = 0; i < FIELD_COUNT; i++)
        if (values[i] == NULL)
            goto done;
    packet = packet_type->tp_alloc(packet_type, 0);
    if (packet == NULL)
        goto done;
    for (int i = 0; i < FIELD_COUNT; i++) {
        PyObject *slot = field_slots[i];
        if (Py_TYPE(slot)->tp_descr_set(slot, packet, values[i]) < 0) {
            Py_CLEAR(packet);
            goto done;
        }
    }
done:
    for (int i = 0; i < FIELD_COUNT; i++)
        Py_XDECREF(values[i]);
    return packet;
}

/* As read_rtp on data[:length]: the packet, or None when it is not valid RTP. */
static PyObject *
read_packet(const SrtpReader *self, const uint8_t *data, Py_ssize_t length)
{
    if (length < 12)
        Py_RETURN_NONE;
    unsigned int first = data[0], second = data[1];
    if (first >> 6 != 2)
        Py_RETURN_NONE;
    Py_ssize_t pos = 12 + 4 * (first & 0x0F); /* past the CSRCs */
    Py_ssize_t end = length;
    if (end < pos)
        Py_RETURN_NONE;
    Extensions ext = {-1, -1, -1, -1, 0, -1, 0};
    if (first & 0x10) {
        if (end < pos + 4)
            Py_RETURN_NONE;
        unsigned int profile = (data[pos] << 8) | data[pos + 1];
        Py_ssize_t block_end = pos + 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3]);
        if (end < block_end || !read_extensions(self, data, pos + 4, block_end, profile, &ext))
            Py_RETURN_NONE;
        pos = block_end;
    }
    unsigned int padding = 0;
    if (first & 0x20) {
        padding = data[length - 1];
        if (!padding || padding > end - pos)
            Py_RETURN_NONE;
        end -= padding;
    }
    uint32_t timestamp = ((uint32_t)data[4] << 24) | (data[5] << 16) | (data[6] << 8) | data[7];
    uint32_t ssrc = ((uint32_t)data[8] << 24) | (data[9] << 16) | (data[10] << 8) | data[11];
    /* Bytes, str and int are not tracked by the garbage collector: only the audio level's
     * tuple and the packet can start a collection (and any finalizer, which could read another
     * packet into the shared buffer), so they come after the buffer's last read. */
    PyObject *values[FIELD_COUNT] = {
        [F_SSRC] = PyLong_FromUnsignedLong(ssrc),
        [F_SEQUENCE_NUMBER] = PyLong_FromLong((data[2] << 8) | data[3]),
        [F_TIMESTAMP] = PyLong_FromUnsignedLong(timestamp),
        [F_MARKER] = Py_NewRef(second > 0x7F ? Py_True : Py_False),
        [F_PAYLOAD_TYPE] = PyLong_FromLong(second & 0x7F),
        [F_PAYLOAD] = PyBytes_FromStringAndSize((const char *)data + pos, end - pos),
        [F_PADDING_SIZE] = PyLong_FromLong(padding),
        [F_ABS_SEND_TIME] = ext.abs_send_time < 0 ? Py_NewRef(Py_None)
                                                  : PyLong_FromLong(ext.abs_send_time),
        [F_RID] = rid_value(data, ext.rid_at, ext.rid_length),
        [F_REPAIRED_RID] = rid_value(data, ext.repaired_rid_at, ext.repaired_rid_length),
        [F_TRANSPORT_SEQUENCE] = ext.transport_sequence < 0
                                     ? Py_NewRef(Py_None)
                                     : PyLong_FromLong(ext.transport_sequence),
    };
    values[F_AUDIO_LEVEL] = PyErr_Occurred() ? NULL : audio_level_value(ext.audio_level);
    return new_packet(values);
}

static int
SrtpReader_init(SrtpReader *self, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"owner", "srtp_context", "unprotect", "audio_level",
                               "abs_send_time", "rid", "repaired_rid",
                               "transport_sequence", NULL};
    PyObject *owner;
    unsigned long long context, unprotect;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OKKlllll", keywords, &owner, &context,
                                     &unprotect, &self->audio_level_id, &self->abs_send_time_id,
                                     &self->rid_id, &self->repaired_rid_id,
                                     &self->transport_sequence_id))
        return -1;
    if (context == 0 || unprotect == 0) {
        PyErr_SetString(PyExc_ValueError, "the SRTP context and srtp_unprotect must be given");
        return -1;
    }
    Py_INCREF(owner);
    Py_XSETREF(self->owner, owner);
    self->srtp = (void *)(uintptr_t)context;
    self->unprotect = (unprotect_fn)(uintptr_t)unprotect;
    return 0;
}

static void
SrtpReader_dealloc(SrtpReader *self)
{
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->owner);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
SrtpReader_traverse(SrtpReader *self, visitproc visit, void *arg)
{
    Py_VISIT(self->owner);
    return 0;
}

static int
SrtpReader_clear(SrtpReader *self)
{
    Py_CLEAR(self->owner);
    self->srtp = NULL;
    return 0;
}

/* read(data) -> ReceivedPacket | None: None when libsrtp refuses the packet (not authentic,
 * replayed, longer than pylibsrtp takes) or it is not valid RTP once decrypted. */
static PyObject *
SrtpReader_read(SrtpReader *self, PyObject *data)
{
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "packet must be bytes");
        return NULL;
    }
    if (packet_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "read() before set_packet_type()");
        return NULL;
    }
    if (self->srtp == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the reader was cleared");
        return NULL;
    }
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    if (size > MAX_PACKET)
        Py_RETURN_NONE;
    memcpy(buffer, PyBytes_AS_STRING(data), size);
    int length = (int)size;
    /* libsrtp decrypts in place; the length loses the authentication tag */
    if (self->unprotect(self->srtp, buffer, &length) != 0 || length < 0 || length > size)
        Py_RETURN_NONE;
    return read_packet(self, buffer, length);
}

static PyMethodDef SrtpReader_methods[] = {
    {"read", (PyCFunction)SrtpReader_read, METH_O,
     "Unprotect an SRTP packet and read it as rtp_reader.read_rtp; None when refused."},
    {NULL}};

static PyTypeObject SrtpReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "server.media._rtp_read.SrtpReader",
    .tp_doc = "One receiver's SRTP unprotect and RTP read (see rtp_reader.read_rtp).",
    .tp_basicsize = sizeof(SrtpReader),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)SrtpReader_init,
    .tp_dealloc = (destructor)SrtpReader_dealloc,
    .tp_traverse = (traverseproc)SrtpReader_traverse,
    .tp_clear = (inquiry)SrtpReader_clear,
    .tp_methods = SrtpReader_methods,
};

/* set_packet_type(ReceivedPacket): the dataclass read() makes, checked to have a slot for each
 * of its fields and no more (a field added to it must be added here too). */
static PyObject *
set_packet_type(PyObject *module, PyObject *type)
{
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "set_packet_type takes a class");
        return NULL;
    }
    PyObject *slots = PyObject_GetAttrString(type, "__slots__");
    if (slots == NULL)
        return NULL;
    Py_ssize_t count = PyObject_Length(slots);
    Py_DECREF(slots);
    if (count < 0)
        return NULL;
    if (count != FIELD_COUNT) {
        PyErr_Format(PyExc_TypeError, "the packet class must have the %d slots of ReceivedPacket",
                     FIELD_COUNT);
        return NULL;
    }
    PyObject *found[FIELD_COUNT] = {NULL};
    for (int i = 0; i < FIELD_COUNT; i++) {
        found[i] = PyObject_GetAttrString(type, field_names[i]);
        if (found[i] == NULL)
            goto error;
        if (!PyObject_TypeCheck(found[i], &PyMemberDescr_Type)) {
            PyErr_Format(PyExc_TypeError, "%s is not a slot of the packet class", field_names[i]);
            goto error;
        }
    }
    for (int i = 0; i < FIELD_COUNT; i++)
        Py_XSETREF(field_slots[i], found[i]);
    Py_INCREF(type);
    Py_XSETREF(packet_type, (PyTypeObject *)type);
    Py_RETURN_NONE;
error:
    for (int i = 0; i < FIELD_COUNT; i++)
        Py_XDECREF(found[i]);
    return NULL;
}

static PyMethodDef module_functions[] = {
    {"set_packet_type", set_packet_type, METH_O,
     "The class read() makes its packets of: rtp_reader.ReceivedPacket."},
    {NULL}};

static struct PyModuleDef rtp_read_module = {
    PyModuleDef_HEAD_INIT, .m_name = "server.media._rtp_read",
    .m_doc = "Compiled SRTP unprotect and RTP read for the lean receive path.",
    .m_size = -1,
    .m_methods = module_functions,
};

PyMODINIT_FUNC
PyInit__rtp_read(void)
{
    if (PyType_Ready(&SrtpReaderType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&rtp_read_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&SrtpReaderType);
    if (PyModule_AddObject(module, "SrtpReader", (PyObject *)&SrtpReaderType) < 0) {
        Py_DECREF(&SrtpReaderType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
