// libFuzzer front end for the .NET fuzz targets in LoadBalancer.Fuzz (issue 19).
//
// libFuzzer runs in this process; the target runs in a long-lived .NET child started by LLVMFuzzerInitialize. They
// speak SharpFuzz's libFuzzer protocol: a SysV shared memory segment holds SharpFuzz's 64 KiB edge map followed by the
// input bytes; the child reads the input length (int32) from fd 198 (both fds are also named in the environment) and answers a status (int32, 0 = ok) on fd 199,
// after it first announced itself with one int32. The edge map is copied into libFuzzer's extra counters after every
// run, which is what guides mutation. A non-zero status (an exception escaped the target: a crash or a property
// violation) becomes a trap here, so libFuzzer saves the input as crash-<sha1> and exits non-zero.
//
// Build: clang -O2 -fsanitize=fuzzer lb-fuzz-driver.c -o lb-fuzz-driver
// Run:   LB_FUZZ_DLL=path/LoadBalancer.Fuzz.dll LB_FUZZ_TARGET=http-request ./lb-fuzz-driver [libFuzzer flags] corpus/
//        (LB_FUZZ_DOTNET names the dotnet host; default "dotnet".)
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

enum { EDGE_MAP_BYTES = 1 << 16, MAX_INPUT_BYTES = 1 << 20, CHILD_IN_FD = 198, CHILD_OUT_FD = 199 };

// Not static and marked used: libFuzzer finds it through the section bounds, and nothing in C ever reads it.
__attribute__((used, section("__libfuzzer_extra_counters"))) uint8_t edge_counters[EDGE_MAP_BYTES];

// Every edge any run touched, for the one-line summary at exit ("edges" is what the report calls coverage).
static uint8_t edges_seen[EDGE_MAP_BYTES];

static int segment_id = -1;
static uint8_t *segment;
static int to_child = -1;
static int from_child = -1;
static pid_t child;

static void fail(const char *what)
{
    fprintf(stderr, "lb-fuzz-driver: %s: %s\n", what, errno ? strerror(errno) : "unexpected");
    _exit(2);
}

static void on_exit_summary(void)
{
    size_t edges = 0;
    for (size_t i = 0; i < EDGE_MAP_BYTES; i++)
    {
        edges += edges_seen[i] != 0;
    }

    // CPU time of both halves: libFuzzer here, the .NET target in the child (utime and stime of /proc/PID/stat).
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    double driver_cpu = (double)self.ru_utime.tv_sec + (double)self.ru_utime.tv_usec / 1e6 + (double)self.ru_stime.tv_sec + (double)self.ru_stime.tv_usec / 1e6;
    double child_cpu = -1;
    char stat_path[64];
    snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)child);
    FILE *stat = child > 0 ? fopen(stat_path, "r") : NULL;
    if (stat)
    {
        unsigned long utime = 0, stime = 0;
        // Fields 14 and 15; the command name in field 2 is "(dotnet)", without spaces.
        if (fscanf(stat, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2)
        {
            child_cpu = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
        }

        fclose(stat);
    }

    fprintf(stderr, "lb-fuzz-driver: edges=%zu of %d map bytes, cpu: libFuzzer %.1f s + .NET target %.1f s\n", edges, EDGE_MAP_BYTES, driver_cpu, child_cpu);
    if (segment_id >= 0)
    {
        shmctl(segment_id, IPC_RMID, NULL);
    }

    if (child > 0)
    {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
}

static int read_exact(int fd, void *buffer, size_t length)
{
    uint8_t *p = buffer;
    while (length > 0)
    {
        ssize_t n = read(fd, p, length);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }

        if (n <= 0)
        {
            return -1;
        }

        p += n;
        length -= (size_t)n;
    }

    return 0;
}

static int write_exact(int fd, const void *buffer, size_t length)
{
    const uint8_t *p = buffer;
    while (length > 0)
    {
        ssize_t n = write(fd, p, length);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }

        if (n <= 0)
        {
            return -1;
        }

        p += n;
        length -= (size_t)n;
    }

    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dll = getenv("LB_FUZZ_DLL");
    const char *target = getenv("LB_FUZZ_TARGET");
    const char *dotnet = getenv("LB_FUZZ_DOTNET");
    if (!dll || !target)
    {
        fprintf(stderr, "lb-fuzz-driver: set LB_FUZZ_DLL (LoadBalancer.Fuzz.dll) and LB_FUZZ_TARGET (a target name)\n");
        exit(2);
    }

    int down[2];
    int up[2];
    if (pipe(down) != 0 || pipe(up) != 0)
    {
        fail("pipe");
    }

    segment_id = shmget(IPC_PRIVATE, EDGE_MAP_BYTES + MAX_INPUT_BYTES, IPC_CREAT | IPC_EXCL | 0600);
    if (segment_id < 0)
    {
        fail("shmget");
    }

    segment = shmat(segment_id, NULL, 0);
    if (segment == (void *)-1)
    {
        fail("shmat");
    }

    atexit(on_exit_summary);
    child = fork();
    if (child < 0)
    {
        fail("fork");
    }

    if (child == 0)
    {
        if (dup2(down[0], CHILD_IN_FD) < 0 || dup2(up[1], CHILD_OUT_FD) < 0)
        {
            fail("dup2");
        }

        close(down[0]);
        close(down[1]);
        close(up[0]);
        close(up[1]);
        char id[16];
        snprintf(id, sizeof id, "%d", segment_id);
        setenv("__LIBFUZZER_SHM_ID", id, 1);
        // SharpFuzz 2.3 takes the pipe descriptors from the environment too.
        setenv("__LIBFUZZER_CONTROL_PIPE_ID", "198", 1);
        setenv("__LIBFUZZER_STATUS_PIPE_ID", "199", 1);
        execlp(dotnet ? dotnet : "dotnet", "dotnet", dll, target, (char *)NULL);
        fail("exec dotnet");
    }

    close(down[0]);
    close(up[1]);
    to_child = down[1];
    from_child = up[0];
    int32_t hello;
    if (read_exact(from_child, &hello, sizeof hello) != 0)
    {
        fprintf(stderr, "lb-fuzz-driver: the .NET target exited before it was ready (is LB_FUZZ_TARGET a target name?)\n");
        exit(2);
    }

    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT_BYTES)
    {
        return 0; // -max_len keeps inputs far below this; an oversized one is skipped, not a finding.
    }

    memset(segment, 0, EDGE_MAP_BYTES);
    if (size > 0)
    {
        memcpy(segment + EDGE_MAP_BYTES, data, size);
    }

    int32_t length = (int32_t)size;
    int32_t status;
    if (write_exact(to_child, &length, sizeof length) != 0 || read_exact(from_child, &status, sizeof status) != 0)
    {
        fprintf(stderr, "lb-fuzz-driver: the .NET target died on this input\n");
        __builtin_trap();
    }

    memcpy(edge_counters, segment, EDGE_MAP_BYTES);
    for (size_t i = 0; i < EDGE_MAP_BYTES; i++)
    {
        edges_seen[i] |= segment[i];
    }

    if (status != 0)
    {
        fprintf(stderr, "lb-fuzz-driver: the .NET target reported a failure (status %d); its exception is above\n", status);
        __builtin_trap();
    }

    return 0;
}
