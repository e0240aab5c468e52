/* kafka_acls.h — private to ops/: the Kafka ACLs of the processes' users (kafka_acls.c). */
#ifndef FOFAL_OPS_KAFKA_ACLS_H
#define FOFAL_OPS_KAFKA_ACLS_H

#include "events.h"

/* Every ACL into out (capacity cap); returns how many there are (more than cap: the rest
 * was not stored). The names are copied; the users are static strings. */
int fofal__kafka_acls(fofal_kafka_acl_t *out, int cap);

#endif
