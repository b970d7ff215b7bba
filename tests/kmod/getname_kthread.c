// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module (guest test 42): asks a socket its peer the way in-kernel socket users
 * do, into a bare 16-byte sockaddr_in followed by guard bytes: from a kernel thread (ocfs2,
 * sunrpc) or, with from=process, from the loading process's own context inside a system
 * call that is not a getname one (usnic does that from a verbs call; iscsi from a sysfs
 * read). The socket is the one behind file descriptor `fd` of the process loading the
 * module. Logs the answer and whether the guard bytes were left alone; stays loaded (doing
 * nothing) until rmmod.
 */
#include <linux/completion.h>
#include <linux/file.h>
#include <linux/in.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/string.h>

static int fd = -1;
module_param(fd, int, 0444);
MODULE_PARM_DESC(fd, "file descriptor, in the loading process, of the socket to ask");
static char *from = "kthread";
module_param(from, charp, 0444);
MODULE_PARM_DESC(from, "kthread (default) or process: who asks");

#define GUARD 0xa5

struct ask {
	struct socket *sock;
	struct completion done;
	int ret;
	struct {
		struct sockaddr_in sin;
		u8 guard[32];
	} buf;
};

static int ask_thread(void *arg)
{
	struct ask *a = arg;

	a->ret = kernel_getpeername(a->sock, (struct sockaddr *)&a->buf.sin);
	/* Completes and exits without returning into this module's text. */
	kthread_complete_and_exit(&a->done, 0);
}

static int __init getname_kthread_init(void)
{
	struct task_struct *t;
	bool intact = true;
	struct ask *a;
	size_t i;
	int err;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	a->sock = sockfd_lookup(fd, &err);
	if (!a->sock)
		goto out_free;
	memset(&a->buf, GUARD, sizeof(a->buf));
	if (!strcmp(from, "process")) {
		/* insmod's own context: the finit_module system call. */
		a->ret = kernel_getpeername(a->sock, (struct sockaddr *)&a->buf.sin);
	} else {
		init_completion(&a->done);
		t = kthread_run(ask_thread, a, "getname_kthread");
		if (IS_ERR(t)) {
			err = PTR_ERR(t);
			goto out_put;
		}
		wait_for_completion(&a->done);
	}
	for (i = 0; i < sizeof(a->buf.guard); i++)
		intact &= a->buf.guard[i] == GUARD;
	if (a->ret == sizeof(struct sockaddr_in) && a->buf.sin.sin_family == AF_INET)
		pr_info("getname_kthread: len=%d peer=%pI4:%u guard=%s\n", a->ret,
			&a->buf.sin.sin_addr, ntohs(a->buf.sin.sin_port),
			intact ? "intact" : "overwritten");
	else
		pr_info("getname_kthread: len=%d family=%u guard=%s\n", a->ret,
			a->buf.sin.sin_family, intact ? "intact" : "overwritten");
	err = 0;
out_put:
	sockfd_put(a->sock);
out_free:
	kfree(a);
	return err;
}

static void __exit getname_kthread_exit(void)
{
}

module_init(getname_kthread_init);
module_exit(getname_kthread_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("toa_uoa test: in-kernel getpeername into a sockaddr_in");
