/*
 * Corpus replayer: a main() for a fuzz target built without libFuzzer.
 * Every file named on the command line, and every file in every directory
 * named there, goes once through LLVMFuzzerTestOneInput(), in name order,
 * from an exactly sized heap buffer (so AddressSanitizer sees over-reads).
 * Without arguments it replays FUZZ_CORPUS_DIR, the target's corpus in the
 * source tree; make check runs it that way.
 *
 * Exit status 0 if at least one input ran; a crash is a crash.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

#pragma weak LLVMFuzzerInitialize

static int replay_file(const char *path) {
        uint8_t *data = NULL;
        size_t size = 0;
        struct stat st;
        FILE *f;

        f = fopen(path, "re");
        if (!f || fstat(fileno(f), &st) < 0) {
                fprintf(stderr, "fuzz-main: cannot open %s: %s\n", path, strerror(errno));
                if (f)
                        fclose(f);
                return -1;
        }
        if (st.st_size > 0) {
                size = (size_t)st.st_size;
                data = malloc(size);
                if (!data || fread(data, 1, size, f) != size) {
                        fprintf(stderr, "fuzz-main: cannot read %s\n", path);
                        free(data);
                        fclose(f);
                        return -1;
                }
        }
        fclose(f);
        (void)LLVMFuzzerTestOneInput(data, size);
        free(data);
        return 1;
}

/* Replay @path (a file, or each regular file in a directory); return the inputs run or -1. */
static int replay(const char *path) {
        struct dirent **names;
        struct stat st;
        int n, runs = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "fuzz-main: %s: %s\n", path, strerror(errno));
                return -1;
        }
        if (!S_ISDIR(st.st_mode))
                return replay_file(path);
        n = scandir(path, &names, NULL, alphasort);
        if (n < 0) {
                fprintf(stderr, "fuzz-main: cannot read %s: %s\n", path, strerror(errno));
                return -1;
        }
        for (int i = 0; i < n; i++) {
                char file[4096];
                int r;

                snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
                if (names[i]->d_name[0] != '.' && stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
                        r = replay_file(file);
                        if (r < 0)
                                runs = -1;
                        else if (runs >= 0)
                                runs += r;
                }
                free(names[i]);
        }
        free(names);
        return runs;
}

int main(int argc, char **argv) {
        const char *defaults[] = { FUZZ_CORPUS_DIR };
        const char *const *paths = (const char *const *)argv + 1;
        int n_paths = argc - 1, total = 0;

        if (LLVMFuzzerInitialize)
                (void)LLVMFuzzerInitialize(&argc, &argv);
        if (n_paths == 0) {
                paths = defaults;
                n_paths = 1;
        }
        for (int i = 0; i < n_paths; i++) {
                int r = replay(paths[i]);

                if (r < 0)
                        return EXIT_FAILURE;
                printf("fuzz-main: %d inputs from %s\n", r, paths[i]);
                total += r;
        }
        if (total == 0) {
                fprintf(stderr, "fuzz-main: no inputs found\n");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
