"""Failed documents: to the dead letters (bounded, with component, error and time), cleared
with DELETE, sent back in with POST /deadletters/replay."""

from __future__ import annotations

from tests.reliability.conftest import chain, client

FAILING = chain(("JsonReader", {}), ("FailOdd", {}), ("Collect", {}))


def test_dead_letters_record_list_clear_and_replay(live):
    server = live(FAILING)
    with client(server.url) as http:
        receipt = http.post("/docs?wait=true", json=[{"n": n} for n in range(6)]).json()
        assert receipt["errors"] == 3 and [d["n"] for d in receipt["results"]] == [0, 2, 4]
        dead = http.get("/deadletters").json()
        assert dead["count"] == 3 and dead["dropped"] == 0
        first = dead["items"][0]
        assert first["component"] == "c1" and "odd number 1" in first["error"]
        assert first["document"] == {"n": 1} and first["time"] > 0

        # fix the graph, then send the dead letters back in: now they get through
        fixed = chain(("JsonReader", {}), ("SetField", {"field": "fixed", "value": True}),
                      ("FailOdd", {}), ("Collect", {}))
        assert http.put("/graph", json=fixed).status_code == 200
        assert http.post("/deadletters/replay").json()["replayed"] == 3
        assert http.get("/deadletters").json()["count"] == 0
        items = http.get("/sinks/c3").json()["items"]
        assert sorted(d["n"] for d in items) == [1, 3, 5]

        http.post("/docs?wait=true", json={"n": 7, "fixed": False})
        assert http.get("/deadletters").json()["count"] == 0  # fixed is set by the graph
        assert http.post("/deadletters/replay").json() == {"replayed": 0}


def test_dead_letters_are_bounded_and_deletable(live):
    server = live(FAILING, dead_letter_limit=2)
    with client(server.url) as http:
        http.post("/docs?wait=true", json=[{"n": n} for n in (1, 3, 5)])
        dead = http.get("/deadletters").json()
        assert dead["count"] == 2 and dead["dropped"] == 1
        assert [i["document"]["n"] for i in dead["items"]] == [3, 5]
        assert http.delete("/deadletters").json() == {"cleared": 2}
        assert http.get("/deadletters").json()["count"] == 0
