#!/usr/bin/env python3
"""kafka_txn_acls.py -- grants each transactional process's Kafka user its transactional ids.

Run by ops/stack once the broker is ready (the venv of ops/setup has confluent-kafka, whose
librdkafka knows the TRANSACTIONAL_ID resource type that the system's librdkafka 2.0 lacks).
The topics' and groups' ACLs are fofal topics create's (ops/kafka_acls.c).

    kafka_txn_acls.py CLIENT_PROPERTIES USER:PREFIX ...

CLIENT_PROPERTIES is a librdkafka properties file (key=value lines: bootstrap.servers, the
SASL settings of a user allowed to alter ACLs); it holds a password, so it is read, never
put on a command line. Each USER:PREFIX allows User:USER to WRITE and DESCRIBE every
transactional id that starts with PREFIX. Granting an ACL that exists is a no-op.
"""
import sys

from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, AdminClient,
                                   ResourcePatternType, ResourceType)


def read_properties(path):
    conf = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                conf[k.strip()] = v.strip()
    return conf


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    admin = AdminClient(read_properties(argv[1]))
    bindings = []
    for grant in argv[2:]:
        user, _, prefix = grant.partition(":")
        for op in (AclOperation.WRITE, AclOperation.DESCRIBE):
            bindings.append(AclBinding(ResourceType.TRANSACTIONAL_ID, prefix, ResourcePatternType.PREFIXED,
                                       f"User:{user}", "*", op, AclPermissionType.ALLOW))
    failed = 0
    for binding, fut in admin.create_acls(bindings, request_timeout=30).items():
        try:
            fut.result()
        except Exception as e:  # the broker's reason, for the stack's log
            print(f"kafka_txn_acls: {binding.principal} on {binding.name}: {e}", file=sys.stderr)
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv))
