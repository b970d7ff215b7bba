// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module (guest test 47): holds the socket lock (lock_sock) of the socket behind
 * file descriptor `fd` of the loading process for `hold_ms` milliseconds, from a kernel
 * thread. insmod returns once the lock is held, so that the test can start getname calls
 * that wait for it inside inet_getname, as they would behind a busy socket. rmmod waits
 * for the hold to end.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/net.h>
#include <net/sock.h>

static int fd = -1;
module_param(fd, int, 0444);
MODULE_PARM_DESC(fd, "file descriptor, in the loading process, of the socket to hold");
static unsigned int hold_ms = 3000;
module_param(hold_ms, uint, 0444);
MODULE_PARM_DESC(hold_ms, "how long to hold its lock");

static struct socket *sock;
static DECLARE_COMPLETION(locked);
static DECLARE_COMPLETION(done);

static int holder(void *unused)
{
	lock_sock(sock->sk);
	complete(&locked);
	msleep(hold_ms);
	release_sock(sock->sk);
	sockfd_put(sock);
	pr_info("sock_holder: released after %u ms\n", hold_ms);
	/* Completes and exits without returning into this module's text. */
	kthread_complete_and_exit(&done, 0);
}

static int __init sock_holder_init(void)
{
	struct task_struct *t;
	int err;

	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return err;
	t = kthread_run(holder, NULL, "sock_holder");
	if (IS_ERR(t)) {
		sockfd_put(sock);
		return PTR_ERR(t);
	}
	wait_for_completion(&locked);
	pr_info("sock_holder: holding the lock of fd %d for %u ms\n", fd, hold_ms);
	return 0;
}

static void __exit sock_holder_exit(void)
{
	wait_for_completion(&done);
}

module_init(sock_holder_init);
module_exit(sock_holder_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("toa_uoa test: holds a socket's lock for a while");
