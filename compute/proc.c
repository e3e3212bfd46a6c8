/* See proc.h. */
#include "compute/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

/* Appends what the pipe has into out; false at EOF or error. */
static bool drain(int fd, char *out, size_t outlen, size_t *got)
{
	char sink[4096];
	ssize_t r = read(fd, sink, sizeof(sink));
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (r <= 0)
		return false;
	if (out && outlen > 1 && *got < outlen - 1) {
		size_t take = (size_t)r < outlen - 1 - *got ? (size_t)r : outlen - 1 - *got;
		memcpy(out + *got, sink, take);
		*got += take;
		out[*got] = '\0';
	}
	return true;
}

int proc_exec(const char *const argv[], int out_fd, char *out, size_t outlen, int timeout_ms,
	      struct proc_result *res)
{
	int execpipe[2] = { -1, -1 }, outpipe[2] = { -1, -1 };
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	memset(res, 0, sizeof(*res));
	if (out && outlen)
		out[0] = '\0';
	if (devnull < 0 || pipe2(execpipe, O_CLOEXEC) < 0 || (out_fd < 0 && pipe2(outpipe, O_CLOEXEC) < 0))
		goto fail;
	long long start = mono_ms();
	pid_t pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec: the agent has threads. */
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		int o = out_fd >= 0 ? out_fd : outpipe[1];
		dup2(devnull, STDIN_FILENO);
		dup2(o, STDOUT_FILENO);
		dup2(o, STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		/* execpipe is close-on-exec: the parent reads EOF on success, errno here. */
		int e = errno;
		if (write(execpipe[1], &e, sizeof(e)) < 0) {
			/* the parent then sees exit status 127 */
		}
		_exit(127);
	}
	/* Also here, so the group exists before any kill(-pid). */
	setpgid(pid, pid);
	close(execpipe[1]);
	execpipe[1] = -1;
	if (outpipe[1] >= 0) {
		close(outpipe[1]);
		outpipe[1] = -1;
	}
	while (read(execpipe[0], &res->exec_errno, sizeof(res->exec_errno)) < 0 && errno == EINTR)
		;
	bool reading = outpipe[0] >= 0;
	for (;;) {
		siginfo_t si;
		/* WNOWAIT: see the exit without reaping, so the pid (and the group id) cannot be
		 * reused before the group is killed below. */
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno != EINTR)
			break;
		if (si.si_pid == pid)
			break;
		long long left = timeout_ms - (mono_ms() - start);
		if (left <= 0) {
			res->timed_out = true;
			break;
		}
		/* Short naps: qemu-img info takes ~30 ms and runs in every build. */
		int nap = left > 5 ? 5 : (int)left;
		if (reading) {
			struct pollfd p = { .fd = outpipe[0], .events = POLLIN };
			if (poll(&p, 1, nap) > 0)
				reading = drain(outpipe[0], out, outlen, &got);
		} else {
			struct timespec d = { 0, nap * 1000000L };
			nanosleep(&d, NULL);
		}
	}
	/* Whatever happened, nothing of it may outlive the call. */
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR)
		;
	res->elapsed_ms = mono_ms() - start;
	while (reading)    /* the rest of the output: EOF now that the group is gone */
		reading = drain(outpipe[0], out, outlen, &got);
	close(devnull);
	close(execpipe[0]);
	if (outpipe[0] >= 0)
		close(outpipe[0]);
	return 0;
fail:;
	int e = errno;
	if (devnull >= 0)
		close(devnull);
	for (int i = 0; i < 2; i++) {
		if (execpipe[i] >= 0)
			close(execpipe[i]);
		if (outpipe[i] >= 0)
			close(outpipe[i]);
	}
	errno = e;
	return -1;
}

int proc_run(const char *const argv[], char *out, size_t outlen, int timeout_ms, struct nl_error *err)
{
	struct proc_result res;
	if (timeout_ms <= 0)
		timeout_ms = 60000;
	if (proc_exec(argv, -1, out, outlen, timeout_ms, &res) < 0) {
		nl_err_set(err, 500, "Cannot run %s: %s.", argv[0], strerror(errno));
		return -1;
	}
	if (res.exec_errno) {
		nl_err_set(err, 500, "Cannot run %s: %s%s.", argv[0], strerror(res.exec_errno),
			   res.exec_errno == ENOENT ? " (it is not installed)" : "");
		return -1;
	}
	if (res.timed_out) {
		nl_err_set(err, 504, "%s did not finish within %d ms and was killed.", argv[0], timeout_ms);
		return -1;
	}
	if (WIFSIGNALED(res.status)) {
		nl_err_set(err, 500, "%s was killed by signal %d.", argv[0], WTERMSIG(res.status));
		return -1;
	}
	return WEXITSTATUS(res.status);
}
