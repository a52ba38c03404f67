#include "ckpt/image.h"
#include "t.h"

static void placeholder(void)
{
	T_ASSERT(ck_task_schema.nfields > 0);
}

T_MAIN("ckpt-image", T_CASE(placeholder))
