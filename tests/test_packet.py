from pypes.packet import Packet


def test_accessors_follow_the_2010_packet():
    p = Packet({"title": "Hello"}, {"mimetype": "application/json"})
    assert p.get("title") == "Hello" and p.has("title") and not p.has("body")
    p.set("body", "text")
    p.delete("title")
    assert p.data == {"body": "text"}
    assert p.get("missing", 3) == 3
    p.set_meta("route", "news")
    assert p.get_meta("route") == "news" and p.get_meta("mimetype") == "application/json"


def test_clone_is_independent():
    p = Packet({"tags": ["a"]}, {"route": "news"}, batch="b1")
    c = p.clone()
    c.get("tags").append("b")
    c.set_meta("route", "sport")
    assert p.get("tags") == ["a"] and p.get_meta("route") == "news"
    assert c == Packet({"tags": ["a", "b"]}) and c.batch == "b1"


def test_meta_is_made_on_first_use_and_kept():
    p = Packet({"n": 1})
    assert p.get_meta("route") is None
    p.meta["route"] = "news"
    assert p.meta == {"route": "news"} and p.derive({"n": 2}).meta == {"route": "news"}
    assert not hasattr(p, "nothing")


def test_raw_packet_keeps_bytes_and_derive_drops_them():
    p = Packet(meta={"mimetype": "text/csv"}, raw=b"a,b\n1,2\n")
    d = p.derive({"a": "1"})
    assert d.raw is None and d.data == {"a": "1"} and d.get_meta("mimetype") == "text/csv"
    assert "raw=8 bytes" in repr(p)
