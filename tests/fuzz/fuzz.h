#pragma once

/*
 * The libFuzzer entry points, implemented by each tests/fuzz/fuzz-*.c and
 * called either by libFuzzer (--enable-fuzzing) or by fuzz-main.c, which
 * replays a corpus with any compiler (make check).
 */

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: a target that needs process-wide set-up defines it. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
