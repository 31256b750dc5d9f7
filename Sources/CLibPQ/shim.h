#ifndef ROLLCALL_CLIBPQ_SHIM_H
#define ROLLCALL_CLIBPQ_SHIM_H
#include <postgresql/libpq-fe.h>
#endif
