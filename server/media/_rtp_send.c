/* The lean send path's per-packet work in C: write a frame's RTP packets around the payloads
 * the producer received, keep them for NACKs, SRTP-protect them and send them with one
 * sendmmsg. server/media/rtp_writer.py's RtpWriter is the same writer in Python (the fallback
 * when this module is not built, and the reference the tests hold both to); compiled_send.py
 * says where the SRTP context and the socket come from. `fan_out` sends one frame to every
 * steady subscriber of a producer in one call (graph.py says which are steady).
 *
 * Why: in a room of 8-12 the CPython interpreter was over half of the server's CPU, most of it
 * the per-packet header packing, the cffi call per protect and the sendto per packet.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define HISTORY_SIZE 128        /* as rtp_writer.RTP_HISTORY_SIZE */
#define MAX_PACKET 1500         /* pylibsrtp's buffer: a protected packet must fit in it */
#define MAX_TRAILER 144         /* libsrtp's SRTP_MAX_TRAILER_LEN */
#define MAX_BATCH 64            /* packets of one frame sent per sendmmsg call */
#define MAX_EXTENSIONS 64
#define TRANSPORT_HISTORY 4096  /* as rtp_writer.TRANSPORT_HISTORY_SIZE: packets kept for feedback */

typedef int (*protect_fn)(void *ctx, void *rtp_header, int *length);

typedef struct {
    uint8_t bytes[MAX_EXTENSIONS];
    Py_ssize_t length;
    int abs_send_time_at; /* -1: not negotiated */
    int audio_level_at;
    int transport_seq_at; /* the transport-wide sequence number's 2 bytes */
} Extensions;

/* The transport-wide sequence numbers of one subscriber's connection, shared by all its
 * writers, and when and how big each packet was (for its transport-cc feedback). */
typedef struct {
    PyObject_HEAD
    uint16_t next;
    int32_t seq_at[TRANSPORT_HISTORY]; /* the sequence number kept in each place; -1: none */
    int64_t sent_us[TRANSPORT_HISTORY];
    uint32_t size[TRANSPORT_HISTORY];
} TransportSequence;

static PyTypeObject TransportSequenceType;

static int64_t
monotonic_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static uint16_t
transport_take(TransportSequence *t, int64_t now_us, Py_ssize_t size)
{
    uint16_t seq = t->next++;
    int at = seq % TRANSPORT_HISTORY;
    t->seq_at[at] = seq;
    t->sent_us[at] = now_us;
    t->size[at] = (uint32_t)size;
    return seq;
}

typedef struct {
    PyObject_HEAD
    uint32_t ssrc;
    uint8_t payload_type;
    uint16_t seq;
    uint32_t ts_origin;
    uint32_t timestamp;        /* of the last frame written */
    uint32_t ts_offset;        /* fan_out: added to the producer's timestamps (the rebase) */
    unsigned long long packets_sent, octets_sent, last_ntp; /* for RTCP sender reports */
    Extensions with_level;
    Extensions without_level;
    PyObject *history[HISTORY_SIZE];
    TransportSequence *transport; /* NULL: no transport-wide sequence numbers */
    int64_t frame_us;             /* when the frame being written is sent */
    /* where send() and fan_out() send: set_target() */
    int has_target;
    protect_fn protect;
    void *srtp;
    int fd;
    struct sockaddr_storage address;
    socklen_t address_length;
} FrameWriter;

static PyTypeObject FrameWriterType;

static uint8_t packet_buffers[MAX_BATCH][MAX_PACKET];

static int
read_extensions(Extensions *ext, PyObject *block, int abs_at, int level_at, int transport_at)
{
    char *data;
    Py_ssize_t length;
    if (PyBytes_AsStringAndSize(block, &data, &length) < 0)
        return -1;
    if (length > MAX_EXTENSIONS || abs_at < -1 || level_at < -1 || transport_at < -1 ||
        (abs_at >= 0 && abs_at + 3 > length) || level_at >= length ||
        (transport_at >= 0 && transport_at + 2 > length)) {
        PyErr_SetString(PyExc_ValueError, "extension block too long or offsets outside it");
        return -1;
    }
    memcpy(ext->bytes, data, length);
    ext->length = length;
    ext->abs_send_time_at = abs_at;
    ext->audio_level_at = level_at;
    ext->transport_seq_at = transport_at;
    return 0;
}

static int
FrameWriter_init(FrameWriter *self, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"ssrc", "payload_type", "first_seq", "ts_origin",
                               "with_level", "with_level_offsets", "without_level",
                               "without_level_offsets", "transport", NULL};
    unsigned long ssrc, ts_origin;
    unsigned int payload_type, first_seq;
    PyObject *with_level, *without_level, *transport = Py_None;
    int abs_with, level_with, seq_with, abs_without, level_without, seq_without;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "kIIkS(iii)S(iii)|O", keywords, &ssrc,
                                     &payload_type, &first_seq, &ts_origin, &with_level,
                                     &abs_with, &level_with, &seq_with, &without_level,
                                     &abs_without, &level_without, &seq_without, &transport))
        return -1;
    if (read_extensions(&self->with_level, with_level, abs_with, level_with, seq_with) < 0 ||
        read_extensions(&self->without_level, without_level, abs_without, level_without,
                        seq_without) < 0)
        return -1;
    if (transport != Py_None) {
        if (!PyObject_TypeCheck(transport, &TransportSequenceType)) {
            PyErr_SetString(PyExc_TypeError, "transport must be a TransportSequence or None");
            return -1;
        }
        Py_INCREF(transport);
        Py_XSETREF(self->transport, (TransportSequence *)transport);
    }
    self->ssrc = (uint32_t)ssrc;
    self->payload_type = (uint8_t)(payload_type & 0x7F);
    self->seq = (uint16_t)first_seq;
    self->ts_origin = (uint32_t)ts_origin;
    self->timestamp = (uint32_t)ts_origin;
    return 0;
}

/* Not tracked by the garbage collector: the history holds only bytes, which make no cycles,
 * and walking 128 slots per writer in every collection cost more than all the rest of it. */
static void
FrameWriter_dealloc(FrameWriter *self)
{
    for (int i = 0; i < HISTORY_SIZE; i++)
        Py_CLEAR(self->history[i]);
    Py_CLEAR(self->transport);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The frame's extension block with this frame's abs-send-time and audio level filled in. */
static const Extensions *
frame_extensions(FrameWriter *self, Extensions *out, unsigned long send_time, PyObject *level)
{
    int with_level = level != Py_None;
    *out = with_level ? self->with_level : self->without_level;
    if (out->abs_send_time_at >= 0) {
        uint8_t *at = out->bytes + out->abs_send_time_at;
        at[0] = (send_time >> 16) & 0xFF;
        at[1] = (send_time >> 8) & 0xFF;
        at[2] = send_time & 0xFF;
    }
    if (with_level && out->audio_level_at >= 0) {
        if (!PyTuple_Check(level) || PyTuple_GET_SIZE(level) != 2) {
            PyErr_SetString(PyExc_TypeError, "audio_level must be (voice, level) or None");
            return NULL;
        }
        int voice = PyObject_IsTrue(PyTuple_GET_ITEM(level, 0));
        long value = PyLong_AsLong(PyTuple_GET_ITEM(level, 1));
        if (voice < 0 || (value == -1 && PyErr_Occurred()))
            return NULL;
        out->bytes[out->audio_level_at] = (uint8_t)((voice ? 0x80 : 0) | (value & 0x7F));
    }
    return out;
}

/* Writes packet `index` of a frame into `buffer`, keeps an unprotected copy in the history,
 * returns its length (-1 with an exception set). */
static Py_ssize_t
write_packet(FrameWriter *self, uint8_t *buffer, const Extensions *ext, PyObject *payload,
             int last)
{
    char *data;
    Py_ssize_t size;
    if (PyBytes_AsStringAndSize(payload, &data, &size) < 0)
        return -1;
    Py_ssize_t length = 12 + ext->length + size;
    if (length > MAX_PACKET - MAX_TRAILER) {
        PyErr_SetString(PyExc_ValueError, "packet is too long");
        return -1;
    }
    uint16_t seq = self->seq;
    uint32_t ts = self->timestamp, ssrc = self->ssrc;
    buffer[0] = ext->length ? 0x90 : 0x80;
    buffer[1] = last ? (self->payload_type | 0x80) : self->payload_type;
    buffer[2] = seq >> 8;
    buffer[3] = seq & 0xFF;
    buffer[4] = ts >> 24;
    buffer[5] = (ts >> 16) & 0xFF;
    buffer[6] = (ts >> 8) & 0xFF;
    buffer[7] = ts & 0xFF;
    buffer[8] = ssrc >> 24;
    buffer[9] = (ssrc >> 16) & 0xFF;
    buffer[10] = (ssrc >> 8) & 0xFF;
    buffer[11] = ssrc & 0xFF;
    memcpy(buffer + 12, ext->bytes, ext->length);
    memcpy(buffer + 12 + ext->length, data, size);
    if (ext->transport_seq_at >= 0 && self->transport != NULL) {
        uint16_t wide = transport_take(self->transport, self->frame_us, length);
        buffer[12 + ext->transport_seq_at] = wide >> 8;
        buffer[13 + ext->transport_seq_at] = wide & 0xFF;
    }
    PyObject *kept = PyBytes_FromStringAndSize((const char *)buffer, length);
    if (kept == NULL)
        return -1;
    Py_XSETREF(self->history[seq % HISTORY_SIZE], kept);
    self->seq = (uint16_t)(seq + 1);
    self->packets_sent++;
    self->octets_sent += (unsigned long long)size;
    return length;
}

static int
start_frame(FrameWriter *self, PyObject *payloads, unsigned long long timestamp)
{
    if (!PyList_Check(payloads)) {
        PyErr_SetString(PyExc_TypeError, "payloads must be a list of bytes");
        return -1;
    }
    self->timestamp = (uint32_t)((timestamp + self->ts_origin) & 0xFFFFFFFFULL);
    if (self->transport != NULL)
        self->frame_us = monotonic_us();
    return 0;
}

/* write(payloads, timestamp, send_time, audio_level) -> list of packets: as RtpWriter.write. */
static PyObject *
FrameWriter_write(FrameWriter *self, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"payloads", "timestamp", "send_time", "audio_level", NULL};
    PyObject *payloads, *level = Py_None;
    unsigned long long timestamp;
    unsigned long send_time;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OKk|O", keywords, &payloads, &timestamp,
                                     &send_time, &level))
        return NULL;
    Extensions scratch;
    const Extensions *ext = frame_extensions(self, &scratch, send_time, level);
    if (ext == NULL || start_frame(self, payloads, timestamp) < 0)
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(payloads);
    PyObject *packets = PyList_New(count);
    if (packets == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        uint16_t seq = self->seq;
        if (write_packet(self, packet_buffers[0], ext, PyList_GET_ITEM(payloads, i),
                         i == count - 1) < 0) {
            Py_DECREF(packets);
            return NULL;
        }
        PyObject *packet = self->history[seq % HISTORY_SIZE];
        Py_INCREF(packet);
        PyList_SET_ITEM(packets, i, packet);
    }
    return packets;
}

static int
socket_address(const char *host, int port, struct sockaddr_storage *out, socklen_t *length)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *length = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *length = sizeof(*v6);
        return 0;
    }
    PyErr_Format(PyExc_ValueError, "not an IP address: %s", host);
    return -1;
}

/* set_target(srtp_context, protect, fd, host, port): from now on send() and fan_out() protect
 * with libsrtp's srtp_protect (`protect`) in the context pylibsrtp made, both passed as
 * addresses, and send to (host, port) on the socket `fd`. */
static PyObject *
FrameWriter_set_target(FrameWriter *self, PyObject *args)
{
    unsigned long long context, protect_address;
    int fd, port;
    const char *host;
    if (!PyArg_ParseTuple(args, "KKisi", &context, &protect_address, &fd, &host, &port))
        return NULL;
    if (socket_address(host, port, &self->address, &self->address_length) < 0)
        return NULL;
    self->srtp = (void *)(uintptr_t)context;
    self->protect = (protect_fn)(uintptr_t)protect_address;
    self->fd = fd;
    self->has_target = 1;
    Py_RETURN_NONE;
}

/* Writes, protects and sends one frame to the writer's target; returns the packets sent (-1
 * with an exception set). A packet libsrtp refuses is not sent (as the Python path drops it);
 * a full socket (EAGAIN) or a closing one ends the frame early, which the count tells. */
static Py_ssize_t
send_frame(FrameWriter *self, PyObject *payloads, const Extensions *ext)
{
    Py_ssize_t count = PyList_GET_SIZE(payloads), sent = 0;
    struct mmsghdr messages[MAX_BATCH];
    struct iovec vectors[MAX_BATCH];
    for (Py_ssize_t start = 0; start < count; start += MAX_BATCH) {
        unsigned int batch = 0;
        for (Py_ssize_t i = start; i < count && i < start + MAX_BATCH; i++) {
            uint8_t *buffer = packet_buffers[batch];
            Py_ssize_t length = write_packet(self, buffer, ext, PyList_GET_ITEM(payloads, i),
                                             i == count - 1);
            if (length < 0)
                return -1;
            int protected_length = (int)length;
            if (self->protect(self->srtp, buffer, &protected_length) != 0)
                continue;
            vectors[batch].iov_base = buffer;
            vectors[batch].iov_len = (size_t)protected_length;
            memset(&messages[batch], 0, sizeof(messages[batch]));
            messages[batch].msg_hdr.msg_name = &self->address;
            messages[batch].msg_hdr.msg_namelen = self->address_length;
            messages[batch].msg_hdr.msg_iov = &vectors[batch];
            messages[batch].msg_hdr.msg_iovlen = 1;
            batch++;
        }
        unsigned int done = 0;
        while (done < batch) {
            int result = sendmmsg(self->fd, messages + done, batch - done, MSG_DONTWAIT);
            if (result < 0) {
                if (errno == EINTR)
                    continue;
                return sent; /* EAGAIN, or a socket closing: dropped */
            }
            done += (unsigned int)result;
            sent += result;
        }
    }
    return sent;
}

/* send(payloads, timestamp, send_time, audio_level) -> packets sent: as write(), then each
 * packet protected and sent to the target set_target() gave, with one sendmmsg. */
static PyObject *
FrameWriter_send(FrameWriter *self, PyObject *args)
{
    PyObject *payloads, *level;
    unsigned long long timestamp;
    unsigned long send_time;
    if (!PyArg_ParseTuple(args, "OKkO", &payloads, &timestamp, &send_time, &level))
        return NULL;
    if (!self->has_target) {
        PyErr_SetString(PyExc_RuntimeError, "send() before set_target()");
        return NULL;
    }
    Extensions scratch;
    const Extensions *ext = frame_extensions(self, &scratch, send_time, level);
    if (ext == NULL || start_frame(self, payloads, timestamp) < 0)
        return NULL;
    Py_ssize_t sent = send_frame(self, payloads, ext);
    return sent < 0 ? NULL : PyLong_FromSsize_t(sent);
}

/* fan_out(writers, payloads, timestamp, send_time, audio_level, ntp) -> indices of the writers
 * that could not send all of the frame. Each writer (with a target) sends the frame at the
 * producer's `timestamp` plus its own `ts_offset`, and keeps `ntp` for its sender reports. */
static PyObject *
fan_out(PyObject *module, PyObject *args)
{
    PyObject *writers, *payloads, *level;
    unsigned long long timestamp, ntp;
    unsigned long send_time;
    if (!PyArg_ParseTuple(args, "O!O!KkOK", &PyList_Type, &writers, &PyList_Type, &payloads,
                          &timestamp, &send_time, &level, &ntp))
        return NULL;
    PyObject *failed = PyList_New(0);
    if (failed == NULL)
        return NULL;
    Py_ssize_t count = PyList_GET_SIZE(payloads);
    for (Py_ssize_t w = 0; w < PyList_GET_SIZE(writers); w++) {
        PyObject *item = PyList_GET_ITEM(writers, w);
        if (!PyObject_TypeCheck(item, &FrameWriterType) || !((FrameWriter *)item)->has_target) {
            PyErr_SetString(PyExc_TypeError, "fan_out takes FrameWriters with a target");
            goto error;
        }
        FrameWriter *writer = (FrameWriter *)item;
        Extensions scratch;
        const Extensions *ext = frame_extensions(writer, &scratch, send_time, level);
        if (ext == NULL || start_frame(writer, payloads, timestamp + writer->ts_offset) < 0)
            goto error;
        writer->last_ntp = ntp;
        Py_ssize_t sent = send_frame(writer, payloads, ext);
        if (sent < 0)
            goto error;
        if (sent < count) {
            PyObject *index = PyLong_FromSsize_t(w);
            if (index == NULL || PyList_Append(failed, index) < 0) {
                Py_XDECREF(index);
                goto error;
            }
            Py_DECREF(index);
        }
    }
    return failed;
error:
    Py_DECREF(failed);
    return NULL;
}

/* packet(seq) -> the unprotected packet written with sequence number `seq`, if still kept. */
static PyObject *
FrameWriter_packet(FrameWriter *self, PyObject *arg)
{
    long seq = PyLong_AsLong(arg);
    if (seq == -1 && PyErr_Occurred())
        return NULL;
    PyObject *packet = self->history[(seq & 0xFFFF) % HISTORY_SIZE];
    if (packet == NULL || PyBytes_GET_SIZE(packet) < 4)
        Py_RETURN_NONE;
    const uint8_t *data = (const uint8_t *)PyBytes_AS_STRING(packet);
    if (((data[2] << 8) | data[3]) != (seq & 0xFFFF))
        Py_RETURN_NONE;
    Py_INCREF(packet);
    return packet;
}

static PyObject *
FrameWriter_get_timestamp(FrameWriter *self, void *closure)
{
    return PyLong_FromUnsignedLong(self->timestamp);
}

static PyObject *
TransportSequence_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    TransportSequence *self = (TransportSequence *)type->tp_alloc(type, 0);
    if (self != NULL)
        memset(self->seq_at, 0xFF, sizeof(self->seq_at)); /* -1: nothing kept */
    return (PyObject *)self;
}

/* take(size) -> the next transport-wide sequence number, for a packet of `size` bytes sent
 * now (a retransmission the Python side makes). */
static PyObject *
TransportSequence_take(TransportSequence *self, PyObject *arg)
{
    Py_ssize_t size = PyLong_AsSsize_t(arg);
    if (size == -1 && PyErr_Occurred())
        return NULL;
    return PyLong_FromLong(transport_take(self, monotonic_us(), size));
}

/* sent(seq) -> (when it was sent, in ms of time.monotonic(); its size in bytes), or None once
 * it is no longer kept. */
static PyObject *
TransportSequence_sent(TransportSequence *self, PyObject *arg)
{
    long seq = PyLong_AsLong(arg);
    if (seq == -1 && PyErr_Occurred())
        return NULL;
    int at = (int)((seq & 0xFFFF) % TRANSPORT_HISTORY);
    if (self->seq_at[at] != (seq & 0xFFFF))
        Py_RETURN_NONE;
    return Py_BuildValue("(dk)", self->sent_us[at] / 1000.0, (unsigned long)self->size[at]);
}

static PyMethodDef TransportSequence_methods[] = {
    {"take", (PyCFunction)TransportSequence_take, METH_O,
     "The next transport-wide sequence number, for a packet of this size sent now."},
    {"sent", (PyCFunction)TransportSequence_sent, METH_O,
     "(sent at in ms of time.monotonic(), size) of a sequence number still kept, or None."},
    {NULL}};

static PyMemberDef TransportSequence_members[] = {
    {"next", T_USHORT, offsetof(TransportSequence, next), READONLY,
     "The sequence number the next packet gets."},
    {NULL}};

static PyTypeObject TransportSequenceType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "server.media._rtp_send.TransportSequence",
    .tp_doc = "A subscriber connection's transport-wide sequence numbers (rtp_writer's twin).",
    .tp_basicsize = sizeof(TransportSequence),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = TransportSequence_new,
    .tp_methods = TransportSequence_methods,
    .tp_members = TransportSequence_members,
};

static PyMethodDef FrameWriter_methods[] = {
    {"write", (PyCFunction)(void (*)(void))FrameWriter_write, METH_VARARGS | METH_KEYWORDS,
     "The packets of one frame, as RtpWriter.write."},
    {"send", (PyCFunction)FrameWriter_send, METH_VARARGS,
     "Write, SRTP-protect and send one frame's packets; returns how many were sent."},
    {"set_target", (PyCFunction)FrameWriter_set_target, METH_VARARGS,
     "Where send() and fan_out() send: SRTP context, protect function, socket, address."},
    {"packet", (PyCFunction)FrameWriter_packet, METH_O,
     "The unprotected packet with this sequence number, while kept."},
    {NULL}};

static PyGetSetDef FrameWriter_getset[] = {
    {"timestamp", (getter)FrameWriter_get_timestamp, NULL,
     "The RTP timestamp of the last frame written.", NULL},
    {NULL}};

static PyMemberDef FrameWriter_members[] = {
    {"ts_origin", T_UINT, offsetof(FrameWriter, ts_origin), READONLY,
     "Added to every timestamp written."},
    {"ts_offset", T_UINT, offsetof(FrameWriter, ts_offset), 0,
     "fan_out: added to the producer's timestamps."},
    {"packets_sent", T_ULONGLONG, offsetof(FrameWriter, packets_sent), READONLY,
     "Packets written so far."},
    {"octets_sent", T_ULONGLONG, offsetof(FrameWriter, octets_sent), READONLY,
     "Payload octets written so far."},
    {"last_ntp", T_ULONGLONG, offsetof(FrameWriter, last_ntp), 0,
     "The wall clock (NTP) when the last frame was sent."},
    {"has_target", T_INT, offsetof(FrameWriter, has_target), READONLY,
     "Whether set_target() was called."},
    {NULL}};

static PyTypeObject FrameWriterType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "server.media._rtp_send.FrameWriter",
    .tp_doc = "One subscriber stream's RTP writer (see rtp_writer.RtpWriter).",
    .tp_basicsize = sizeof(FrameWriter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)FrameWriter_init,
    .tp_dealloc = (destructor)FrameWriter_dealloc,
    .tp_methods = FrameWriter_methods,
    .tp_getset = FrameWriter_getset,
    .tp_members = FrameWriter_members,
};

static PyMethodDef module_functions[] = {
    {"fan_out", fan_out, METH_VARARGS,
     "Send one frame through every writer given; the indices of those that could not."},
    {NULL}};

static struct PyModuleDef rtp_send_module = {
    PyModuleDef_HEAD_INIT, .m_name = "server.media._rtp_send",
    .m_doc = "Compiled RTP writing, SRTP protect and sendmmsg for the lean send path.",
    .m_size = -1,
    .m_methods = module_functions,
};

PyMODINIT_FUNC
PyInit__rtp_send(void)
{
    if (PyType_Ready(&FrameWriterType) < 0 || PyType_Ready(&TransportSequenceType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&rtp_send_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&FrameWriterType);
    if (PyModule_AddObject(module, "FrameWriter", (PyObject *)&FrameWriterType) < 0) {
        Py_DECREF(&FrameWriterType);
        Py_DECREF(module);
        return NULL;
    }
    Py_INCREF(&TransportSequenceType);
    if (PyModule_AddObject(module, "TransportSequence", (PyObject *)&TransportSequenceType) < 0) {
        Py_DECREF(&TransportSequenceType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
