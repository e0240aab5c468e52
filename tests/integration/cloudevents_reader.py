#!/usr/bin/env python3
"""cloudevents_reader.py — reads FOFAL's Kafka topics as an analyst would: with the
CloudEvents Python SDK's own Kafka binding (cloudevents.core.bindings.kafka.from_kafka_event,
which picks binary or structured mode from the headers as the binding says) over a
confluent-kafka consumer. Both come from PyPI into the venv ops/setup makes
($FOFAL_PYTOOLS).

Prints one JSON line per record of the topics whose value belongs to --tenant (read from
the raw value, so that the filter does not depend on how the SDK read it), from the start
of each partition to its end when the reader started:

  {"topic", "partition", "offset", "key", "headers": {name: value},
   "attributes": {...as the SDK read them...}, "data": ...as the SDK read it...,
   "error": "..." when the SDK refused the record}

Exit status 0, or 2 when Kafka could not be read within --timeout seconds. The caller
(tests/integration/test_cloudevents.c) asserts on the lines.
"""
import argparse
import datetime
import json
import os
import sys
import time

from cloudevents.core.bindings import kafka as ce_kafka
from confluent_kafka import Consumer, TopicPartition


def plain(v):
    """An SDK value as JSON: times as RFC 3339, bytes as text."""
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def tenant_of(value):
    try:
        doc = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc.get("fofaltenant") if isinstance(doc, dict) else None


def read_topic(consumer, topic, tenant, deadline, out):
    meta = consumer.list_topics(topic, timeout=10)
    if topic not in meta.topics or meta.topics[topic].error is not None:
        raise RuntimeError(f"topic {topic} is not there")
    ends = {}
    for p in meta.topics[topic].partitions:
        lo, hi = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if hi > lo:
            ends[p] = hi
    if not ends:
        return
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    done = set()
    while len(done) < len(ends):
        if time.monotonic() > deadline:
            raise RuntimeError(f"reading {topic} took too long")
        m = consumer.poll(0.5)
        if m is None:
            # A partition that ends with a transaction marker: the position passes it.
            for tp in consumer.position([TopicPartition(topic, p) for p in ends]):
                if tp.offset >= ends[tp.partition]:
                    done.add(tp.partition)
            continue
        if m.error() is not None:
            continue
        p = m.partition()
        if m.offset() >= ends[p] - 1:
            done.add(p)
        if m.offset() >= ends[p] or tenant_of(m.value()) != tenant:
            continue
        headers = {k: (v.decode("utf-8", "replace") if v is not None else None) for k, v in (m.headers() or [])}
        rec = {"topic": topic, "partition": p, "offset": m.offset(),
               "key": m.key().decode("utf-8", "replace") if m.key() else None, "headers": headers}
        msg = ce_kafka.KafkaMessage(headers={k: (v or b"") for k, v in (m.headers() or [])}, key=m.key(),
                                    value=m.value())
        try:
            ev = ce_kafka.from_kafka_event(msg)
            rec["attributes"] = plain(ev.get_attributes())
            rec["data"] = plain(ev.get_data())
        except Exception as e:  # the SDK's refusal is what the test reports
            rec["error"] = f"{type(e).__name__}: {e}"
        out.write(json.dumps(rec) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("topics", nargs="+")
    a = ap.parse_args()
    deadline = time.monotonic() + a.timeout
    conf = {"bootstrap.servers": a.brokers, "group.id": "fofal-test-cloudevents-reader",
            "enable.auto.commit": False, "isolation.level": "read_committed",
            "enable.partition.eof": False}
    # As the stack's CLI user when the stack authenticates Kafka's clients (README, Security).
    if os.environ.get("FOFAL_KAFKA_USER"):
        conf.update({"security.protocol": os.environ.get("FOFAL_KAFKA_SECURITY_PROTOCOL") or "sasl_plaintext",
                     "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": os.environ["FOFAL_KAFKA_USER"],
                     "sasl.password": os.environ.get("FOFAL_KAFKA_PASSWORD", "")})
        if os.environ.get("FOFAL_KAFKA_SSL_CA"):
            conf["ssl.ca.location"] = os.environ["FOFAL_KAFKA_SSL_CA"]
    c = Consumer(conf)
    try:
        for t in a.topics:
            read_topic(c, t, a.tenant, deadline, sys.stdout)
    except Exception as e:
        print(f"cloudevents_reader: {e}", file=sys.stderr)
        return 2
    finally:
        c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
