/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Transitional, for the merge of the layout refactor only: format/decode.h
 * is gone. Its names of constants are util/xlat.h's, its record renderers
 * report/dump.h's. model/ and cli/ and a few tests still include
 * "decode.h": once they include xlat.h / dump.h (and fmt.h, records.h)
 * themselves, delete this file.
 */
#ifndef MT_DECODE_COMPAT_H
#define MT_DECODE_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "fmt.h"
#include "records.h"
#include "xlat.h"
/* report/ is not on the model's include path: the renderers only for those that see it */
#if __has_include("dump.h")
#include "dump.h"
#endif

#endif
