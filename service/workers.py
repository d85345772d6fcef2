"""`xiaoqi serve --workers N`: workers forked from one parent that has already imported the app.

uvicorn's own supervisor *spawns* each worker: a fresh interpreter that imports FastAPI, numpy,
scikit-learn, bm25s, LightGBM … and loads jieba's dictionary again, about 195 MB private to
every worker at 100k enterprises (docs/notes/issue-11-restart.md). Here the parent builds the app
(`create_app()`: routers, schemas, no connection, no thread), imports what the engine imports
later, loads jieba's dictionary, freezes the garbage collector (so collections in a worker do not
write to, and so copy, every inherited object's header) and only then forks. What the workers
inherit stays shared until written; each worker still opens its own pool and loads its own engine
in its lifespan, over memory-mapped snapshots and vectors (file pages, shared as well).

What the parent keeps from uvicorn's supervisor: one listening socket bound before the fork and
accepted on by every worker; a ping per worker over a socket pair, answered by a thread in the
worker, and a worker that stops answering for ``healthcheck_s`` (XIAOQI_WORKER_HEALTHCHECK_S) or
exits is replaced by a new fork; SIGTERM / SIGINT stop every worker gracefully (uvicorn's own
shutdown in each) and the parent exits 0; a worker that fails its startup stops the service
(exit 3, as uvicorn) instead of being forked again and again.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("uvicorn.error")

# Imported by the engine (indexes, ranker, encoders) only when it loads: imported in the parent
# too, so their code and module state are inherited instead of imported again per worker.
ENGINE_MODULES = (
    "service.recommendations.engine",
    "indexing.hybrid",
    "indexing.snapshot_store",
    "faiss",
    "bm25s",
    "lightgbm",
    "sklearn.feature_extraction.text",
    "threadpoolctl",
)

M_ARENA_MAX = -8  # glibc <malloc.h>
PING_EVERY_S = 1.0
STOP_GRACE_S = 30.0


def limit_malloc_arenas(n: int) -> None:
    """MALLOC_ARENA_MAX for this process and its forks: glibc reads the variable only when a
    process starts, and forked workers never start, so set it with mallopt as well."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, n)


def preload(factory: Callable[[], Any]) -> Any:
    """Everything a worker would otherwise build for itself, built once here: the app, the engine's
    modules, jieba's dictionary. Opens no connection and starts no thread."""
    app = factory()
    for name in ENGINE_MODULES:
        with contextlib.suppress(ImportError):  # an optional dependency not installed
            importlib.import_module(name)
    from models.text import tokenize

    tokenize("校企合作 preload")  # loads jieba's dictionary and the domain words
    gc.collect()
    gc.freeze()
    return app


@dataclass
class Worker:
    pid: int
    channel: socket.socket  # the parent's end of the ping pair
    last_answer: float = field(default_factory=time.monotonic)
    pinged: bool = False
    started: bool = False


def _answer_pings(channel: socket.socket, server: uvicorn.Server) -> None:
    """In the worker: one byte back per ping, 1 once uvicorn has started serving."""
    with contextlib.suppress(OSError):
        while channel.recv(1):
            channel.sendall(b"1" if server.started else b"0")


def _worker_main(config: uvicorn.Config, sock: socket.socket, channel: socket.socket) -> int:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)  # uvicorn installs its own while it serves
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: the parent died
    server = uvicorn.Server(config)
    pinger = threading.Thread(
        target=_answer_pings, args=(channel, server), name="xiaoqi-worker-ping", daemon=True
    )
    pinger.start()
    try:
        server.run(sockets=[sock])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        log.exception("worker %d crashed", os.getpid())
        return 1
    return 0


class Supervisor:
    """Forks ``workers`` copies of the preloaded parent and keeps that many alive."""

    def __init__(self, config: uvicorn.Config, workers: int, healthcheck_s: float) -> None:
        self.config = config
        self.count = workers
        self.healthcheck_s = healthcheck_s
        self.workers: list[Worker] = []
        self.stopping = False
        self.failed = False

    def spawn(self, sock: socket.socket) -> Worker:
        if threading.active_count() > 1:  # a thread's locks would be copied mid-use
            names = [t.name for t in threading.enumerate()]
            log.warning("forking a worker while the parent runs threads: %s", names)
        parent_end, child_end = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            code = 1
            try:
                parent_end.close()
                for other in self.workers:
                    other.channel.close()
                code = _worker_main(self.config, sock, child_end)
            finally:
                logging.shutdown()
                os._exit(code)
        child_end.close()
        parent_end.setblocking(False)
        log.info("started worker process [%d]", pid)
        return Worker(pid, parent_end)

    def _on_signal(self, sig: int, _frame: Any) -> None:
        log.info("received %s, stopping the workers", signal.Signals(sig).name)
        self.stopping = True

    def _check(self, worker: Worker, now: float) -> bool:
        """Read the answers waiting and ping again; False once the worker missed its deadline."""
        try:
            while answer := worker.channel.recv(16):
                worker.last_answer, worker.pinged = now, False
                worker.started = worker.started or answer.endswith(b"1")
        except BlockingIOError:
            pass
        except OSError:
            return False
        if not worker.pinged:
            with contextlib.suppress(OSError):
                worker.channel.send(b"p")
                worker.pinged = True
        return now - worker.last_answer <= self.healthcheck_s

    def _reap(self) -> dict[int, int]:
        """Exit codes of the workers that ended, by pid."""
        ended: dict[int, int] = {}
        for worker in self.workers:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(worker.pid, os.WNOHANG)
                if pid:
                    ended[pid] = os.waitstatus_to_exitcode(status)
        return ended

    def _replace(self, sock: socket.socket) -> None:
        ended = self._reap()
        now = time.monotonic()
        for i, worker in enumerate(self.workers):
            if worker.pid in ended:
                code = ended[worker.pid]
                if code == STARTUP_FAILURE and not worker.started:
                    log.error("worker [%d] failed to start; stopping", worker.pid)
                    self.failed = self.stopping = True
                    return
                log.warning("worker [%d] exited with %d; starting another", worker.pid, code)
            elif not self._check(worker, now):
                log.warning(
                    "worker [%d] did not answer for %.0f s; killing it and starting another",
                    worker.pid,
                    self.healthcheck_s,
                )
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(worker.pid, 0)
            else:
                continue
            worker.channel.close()
            self.workers[i] = self.spawn(sock)

    def stop_all(self) -> None:
        for worker in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        waiting = {w.pid for w in self.workers}
        while waiting and time.monotonic() < deadline:
            waiting -= set(self._reap())
            time.sleep(0.05)
        for pid in waiting:  # past the grace period
            log.warning("worker [%d] did not stop in %.0f s; killing it", pid, STOP_GRACE_S)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        for worker in self.workers:
            worker.channel.close()

    def run(self, sock: socket.socket) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        log.info("started parent process [%d], %d workers", os.getpid(), self.count)
        try:
            self.workers = []
            for _ in range(self.count):
                self.workers.append(self.spawn(sock))
            while not self.stopping:
                time.sleep(PING_EVERY_S / 2)
                if not self.stopping:
                    self._replace(sock)
        finally:
            self.stop_all()
            sock.close()
        log.info("stopped parent process [%d]", os.getpid())
        return STARTUP_FAILURE if self.failed else 0


def serve(
    factory: Callable[[], Any],
    host: str,
    port: int,
    workers: int,
    healthcheck_s: float,
    **uvicorn_options: Any,
) -> int:
    """Preload, bind, fork ``workers`` workers and supervise them until SIGTERM / SIGINT."""
    limit_malloc_arenas(int(os.environ.get("MALLOC_ARENA_MAX", "2")))
    app = preload(factory)
    config = uvicorn.Config(app, host=host, port=port, workers=workers, **uvicorn_options)
    config.load()  # the middleware stack and protocol classes, also inherited
    sock = config.bind_socket()
    return Supervisor(config, workers, healthcheck_s).run(sock)
