#ifndef ROLLCALL_CRDKAFKA_SHIM_H
#define ROLLCALL_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#endif
