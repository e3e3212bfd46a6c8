/* See proc.h. */
#include "compute/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int proc_run(const char *const argv[], char *out, size_t outlen, int timeout_ms, struct nl_error *err)
{
	int pipefd[2];
	size_t got = 0;
	char sink[4096];

	if (out && outlen)
		out[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		nl_err_set(err, 500, "Cannot run %s: %s.", argv[0], strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		nl_err_set(err, 500, "Cannot run %s: %s.", argv[0], strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		/* Own process group, so a timeout kills whatever the program started too. */
		setpgid(0, 0);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot execute %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	long long deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 60000);
	bool timed_out = false;
	for (;;) {
		long long left = deadline - mono_ms();
		if (left <= 0) {
			timed_out = true;
			break;
		}
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		int n = poll(&p, 1, (int)(left > 1000 ? 1000 : left));
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		ssize_t r = read(pipefd[0], sink, sizeof(sink));
		if (r <= 0)
			break;   /* EOF: the program (and its children) closed the pipe */
		if (out && outlen > 1 && got < outlen - 1) {
			size_t take = (size_t)r < outlen - 1 - got ? (size_t)r : outlen - 1 - got;
			memcpy(out + got, sink, take);
			got += take;
			out[got] = '\0';
		}
	}
	close(pipefd[0]);
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		nl_err_set(err, 504, "%s did not finish within %d ms and was killed.", argv[0], timeout_ms);
		return -1;
	}
	if (WIFSIGNALED(status)) {
		nl_err_set(err, 500, "%s was killed by signal %d.", argv[0], WTERMSIG(status));
		return -1;
	}
	int code = WEXITSTATUS(status);
	if (code == 127 && out && strstr(out, "cannot execute")) {
		nl_err_set(err, 500, "Cannot run %s: it is not installed (%s).", argv[0], out);
		return -1;
	}
	return code;
}
