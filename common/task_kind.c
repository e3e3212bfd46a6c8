/* The task kinds' one table (common/task_kind.h). */
#include "common/task_kind.h"

#include <stddef.h>
#include <string.h>

static const char *const snapshot_params[] = { TASK_PARAM_IMAGE_ID, NULL };

/* Nova's power states: 1 running, 3 paused, 4 shutdown. A snapshot changes neither state:
 * it only ends image_snapshot. */
static const struct task_kind_info kinds[TASK_KIND_COUNT] = {
	[TASK_BUILD]       = { TASK_BUILD,       "build",       "active",    "error", 1, true,  NULL },
	[TASK_DELETE]      = { TASK_DELETE,      "delete",      NULL,        "error", 0, false, NULL },
	[TASK_STOP]        = { TASK_STOP,        "stop",        "stopped",   NULL,    4, false, NULL },
	[TASK_START]       = { TASK_START,       "start",       "active",    NULL,    1, true,  NULL },
	[TASK_REBOOT_SOFT] = { TASK_REBOOT_SOFT, "reboot_soft", "active",    NULL,    1, true,  NULL },
	[TASK_REBOOT_HARD] = { TASK_REBOOT_HARD, "reboot_hard", "active",    "error", 1, true,  NULL },
	[TASK_PAUSE]       = { TASK_PAUSE,       "pause",       "paused",    NULL,    3, false, NULL },
	[TASK_UNPAUSE]     = { TASK_UNPAUSE,     "unpause",     "active",    NULL,    1, true,  NULL },
	[TASK_SUSPEND]     = { TASK_SUSPEND,     "suspend",     "suspended", NULL,    4, false, NULL },
	[TASK_RESUME]      = { TASK_RESUME,      "resume",      "active",    NULL,    1, true,  NULL },
	[TASK_SNAPSHOT]    = { TASK_SNAPSHOT,    "snapshot",    NULL,        NULL,   -1, false, snapshot_params },
};

const struct task_kind_info *task_kind_info(enum task_kind k)
{
	return k >= 0 && k < TASK_KIND_COUNT ? &kinds[k] : NULL;
}

const char *task_kind_name(enum task_kind k)
{
	const struct task_kind_info *i = task_kind_info(k);
	return i ? i->name : "unknown";
}

enum task_kind task_kind_parse(const char *name)
{
	if (!name)
		return TASK_KIND_UNKNOWN;
	for (int k = 0; k < TASK_KIND_COUNT; k++)
		if (!strcmp(kinds[k].name, name))
			return (enum task_kind)k;
	return TASK_KIND_UNKNOWN;
}
