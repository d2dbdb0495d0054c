"""The compiled parts of the lean media paths: the send path's packet writer
(server/media/_rtp_send.c) and the receive path's SRTP unprotect and RTP read
(server/media/_rtp_read.c).

`pip install` builds them with the machine's C compiler; where none is found, their build is
skipped (optional) and Circle sends and receives with the pure-Python code instead."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            f"server.media.{name}",
            [f"server/media/{name}.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
        for name in ("_rtp_send", "_rtp_read")
    ]
)
