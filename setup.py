"""The one compiled part: the lean send path's packet writer (server/media/_rtp_send.c).

`pip install` builds it with the machine's C compiler; where none is found, the build of this
extension is skipped (optional) and Circle sends with the pure-Python writer instead."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "server.media._rtp_send",
            ["server/media/_rtp_send.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
