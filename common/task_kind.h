/* The task kinds the API queues and the agents run: defined once, shared by both programs.
 *
 * A task row carries its kind as text (the wire and the database see the name); code
 * compares enum values. Each kind lists what it does to the instance (the vm_state it
 * leaves on success and on failure, the power state a success implies) and the payload
 * fields its params object carries, so the API that writes a task and the agent that
 * reads it agree on both from one table (common/task_kind.c).
 */
#ifndef NL_TASK_KIND_H
#define NL_TASK_KIND_H

#include <stdbool.h>

enum task_kind {
	TASK_BUILD,
	TASK_DELETE,
	TASK_STOP,
	TASK_START,
	TASK_REBOOT_SOFT,
	TASK_REBOOT_HARD,
	TASK_PAUSE,
	TASK_UNPAUSE,
	TASK_SUSPEND,
	TASK_RESUME,
	TASK_SNAPSHOT,
	TASK_KIND_COUNT,
	TASK_KIND_UNKNOWN = -1
};

/* Payload fields (the task's params object). */
#define TASK_PARAM_IMAGE_ID "image_id"   /* snapshot: the image the API created, to upload into */

struct task_kind_info {
	enum task_kind kind;
	const char *name;       /* the text in the task row and on the wire */
	const char *done_vm;    /* vm_state on success (NULL: unchanged) */
	const char *failed_vm;  /* vm_state on failure (NULL: the state it had before) */
	int done_power;         /* power state a success implies (1 running, 3 paused, 4 shutdown; -1 unchanged) */
	bool powers_on;         /* the guest runs afterwards (the agent waits for it, reads its console) */
	const char *const *params;  /* payload fields, NULL-terminated (NULL: none) */
};

/* The row of a kind; NULL for TASK_KIND_UNKNOWN or out of range. */
const struct task_kind_info *task_kind_info(enum task_kind k);
/* The name of a kind ("build"); "unknown" for anything else. */
const char *task_kind_name(enum task_kind k);
/* The kind of a name; TASK_KIND_UNKNOWN for NULL or a name the protocol lacks. */
enum task_kind task_kind_parse(const char *name);

#endif
