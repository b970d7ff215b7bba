#!/usr/bin/env bash
# Run a command in a QEMU guest booted on the project's test kernel. The guest sees the
# host's whole file system read-only at the same paths (so host programs such as python3,
# socat, curl and the freshly built toa_uoa.ko are there), with tmpfs on /tmp, /run and
# /var/tmp, and runs the command as root in the caller's working directory.
#
#   scripts/vm.sh run [options] -- CMD [ARG...]
#     --kdir DIR       kernel build tree (default: scripts/setup.sh --print-kdir)
#     --timeout SECS   kill the guest after SECS (default 1800)
#     --mem SIZE       guest memory (default 2G)
#     --smp N          guest CPUs (default: host cores, at most 4)
#     --dmesg FILE     save the guest's kernel log there
#     --accel kvm|tcg  skip detection
#     --icount SHIFT   TCG with instruction counting: guest time = 2^SHIFT ns per instruction
#     --tcg-threads single|multi  one host thread for all vCPUs (default), or one each
#   scripts/vm.sh accel     print the accelerator that works here (kvm or tcg)
#
# The exit status is the command's. $VM_OUT (a directory) is writable from the guest and
# the host sees what lands there: the guest side sets VM_OUT to the same path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

QEMU=qemu-system-x86_64
BUSYBOX=/bin/busybox

usage() {
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# The guest's /init: mount the host root and the exchange directory, run the command
# chrooted into the host root, hand back its status and the kernel log, power off.
write_init() {
	cat >"$1" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
xchg=$(sed -n 's/.*toa_uoa.xchg=\([^ ]*\).*/\1/p' /proc/cmdline)
R=/newroot
mkdir -p $R
fail() { echo "vm-init: $*"; reboot -f; }
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot $R ||
	fail "cannot mount the host root"
# The host's /tmp, /run and /var/tmp are replaced by fresh tmpfs; a project checked out
# under one of them (a CI clone in /tmp, say) is bound back in at its own path.
keep=$(sed -n 's/.*toa_uoa.keep=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p /hostdirs
[ -z "$keep" ] || mount --bind "$R$keep" /hostdirs
for d in tmp run var/tmp; do mount -t tmpfs -o mode=1777 tmpfs $R/$d || fail "tmpfs $d"; done
if [ -n "$keep" ]; then mkdir -p "$R$keep" && mount --bind /hostdirs "$R$keep"; fi
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
ln -sf /proc/self/fd $R/dev/fd
ln -sf /proc/self/fd/0 $R/dev/stdin
ln -sf /proc/self/fd/1 $R/dev/stdout
ln -sf /proc/self/fd/2 $R/dev/stderr
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null || true
mkdir -p "$R$xchg"
mount -t 9p -o trans=virtio,version=9p2000.L,rw,msize=512000 xchg "$R$xchg" ||
	fail "cannot mount the exchange directory"
chroot $R /bin/bash -c "ip link set lo up 2>/dev/null; . '$xchg/env'; cd \"\$VM_CWD\" 2>/dev/null || cd /; exec /bin/bash '$xchg/cmd'"
echo $? >"$R$xchg/status"
chroot $R /bin/dmesg >"$R$xchg/dmesg" 2>/dev/null || dmesg >"$R$xchg/dmesg"
sync
umount "$R$xchg"
reboot -f
INIT
	chmod +x "$1"
}

# The initramfs depends only on busybox and this script: build it once per content.
initramfs() {
	local key img tmp
	key=$( { sha256sum "$BUSYBOX"; sed -n '/^write_init/,/^}/p' "$0"; } | sha256sum | cut -c1-12)
	img=$CACHE/initramfs-$key.cpio.gz
	if [ ! -f "$img" ]; then
		[ -x "$BUSYBOX" ] || die "no $BUSYBOX: run scripts/setup.sh (package busybox-static)"
		tmp=$(mktemp -d)
		mkdir -p "$tmp"/{bin,dev,proc,sys,newroot}
		cp "$BUSYBOX" "$tmp/bin/busybox"
		write_init "$tmp/init"
		(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$img.tmp"
		mv "$img.tmp" "$img"
		rm -rf "$tmp"
	fi
	echo "$img"
}

# A KVM guest hangs on some machines of this kind even though /dev/kvm exists: prove it
# boots a guest end to end before using it; remember the verdict per kernel and qemu.
detect_accel() {
	local kdir=$1 verdict
	verdict=$CACHE/accel-$(echo "$kdir $($QEMU --version | head -1)" | sha256sum | cut -c1-12)
	if [ ! -f "$verdict" ]; then
		local accel=tcg
		if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
			if TOA_UOA_VM_NESTED=1 timeout 60 "$0" run --kdir "$kdir" --accel kvm --timeout 40 -- true \
				>/dev/null 2>&1; then
				accel=kvm
			fi
		fi
		echo "$accel" >"$verdict"
	fi
	cat "$verdict"
}

cmd_run() {
	local kdir="" timeout=1800 mem=2G smp dmesg_out="" accel="" icount="" tcg_threads=single
	smp=$(nproc)
	[ "$smp" -le 4 ] || smp=4
	while [ $# -gt 0 ]; do
		case $1 in
		--kdir) kdir=$2; shift ;;
		--timeout) timeout=$2; shift ;;
		--mem) mem=$2; shift ;;
		--smp) smp=$2; shift ;;
		--dmesg) dmesg_out=$2; shift ;;
		--accel) accel=$2; shift ;;
		--icount) icount=$2; shift ;;
		--tcg-threads) tcg_threads=$2; shift ;;
		--) shift; break ;;
		*) usage ;;
		esac
		shift
	done
	[ $# -gt 0 ] || usage
	[ -n "$kdir" ] || kdir=$("$TOP/scripts/setup.sh" --print-kdir)
	# The project must be visible in the guest even if it lives in a directory the guest
	# covers with tmpfs.
	local keep=""
	case $TOP in /tmp/* | /run/* | /var/tmp/*) keep=$TOP ;; esac
	local bz=$kdir/arch/x86/boot/bzImage
	[ -f "$bz" ] || die "no test kernel at $bz: run scripts/setup.sh"
	command -v $QEMU >/dev/null || die "$QEMU not found: run scripts/setup.sh"
	[ -n "$accel" ] || accel=$(detect_accel "$kdir")

	local img xchg
	img=$(initramfs)
	xchg=$(mktemp -d "${TMPDIR:-/tmp}/toa_uoa-vm.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$xchg'" EXIT
	{
		printf 'export PATH=%q HOME=/tmp TERM=dumb LANG=C.UTF-8\n' "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		printf 'export VM_CWD=%q VM_OUT=%q TOA_UOA_IN_VM=1\n' "$PWD" "$xchg/out"
		local v
		for v in TOA_UOA_CACHE TOA_UOA_KO TOA_UOA_SQUATTER TOA_UOA_DKMS_ROOT KTEST_FILTER KTEST_TIMEOUT; do
			[ -z "${!v:-}" ] || printf 'export %s=%q\n' "$v" "${!v}"
		done
	} >"$xchg/env"
	mkdir -p "$xchg/out"
	{
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	} >"$xchg/cmd"

	# One socket per CPU: SeaBIOS's MP table (the test kernel has no ACPI) lists only the
	# first CPU of each package, so QEMU's default topology (one socket, N cores) would
	# leave the guest with one CPU whatever -smp says.
	local topology="$smp,sockets=$smp,cores=1,threads=1"
	# One host thread runs the vCPUs in turn (they still interleave at every translated
	# block, so the guest is really SMP). With one host thread per vCPU (thread=multi) the
	# stress run once died of an "Oops: int3" in ip_local_deliver while the module's load
	# flipped a static branch there (text_poke_bp): most likely QEMU 7.2's handling of code
	# one vCPU patches while another runs it. --tcg-threads multi brings that mode back.
	local accel_args=(-accel "tcg,thread=$tcg_threads" -cpu max)
	[ "$accel" = kvm ] && accel_args=(-accel kvm -cpu host)
	# Instruction counting: the guest's clock advances 2^SHIFT ns per instruction executed,
	# so rates measured in the guest count instructions, whatever else the host is doing
	# (one host thread runs all vCPUs in turn; the benchmarks use it).
	[ -z "$icount" ] || accel_args=(-accel tcg,thread=single -cpu max -icount "shift=$icount,sleep=on")
	local rc=0
	timeout --foreground -k 10 "$timeout" $QEMU "${accel_args[@]}" -smp "$topology" -m "$mem" \
		-nographic -no-reboot -nic none -monitor none -serial stdio \
		-kernel "$bz" -initrd "$img" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 toa_uoa.xchg=$xchg${keep:+ toa_uoa.keep=$keep}" \
		-virtfs "local,path=/,mount_tag=hostroot,readonly=on,security_model=none,multidevs=remap" \
		-virtfs "local,path=$xchg,mount_tag=xchg,security_model=none" \
		</dev/null | sed -u -e 's/\r//g; s/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' \
		-e '/^SeaBIOS (version/d; s/^Booting from ROM\.\.//; /reboot: Restarting system$/d' || rc=$?
	[ -z "$dmesg_out" ] || cp "$xchg/dmesg" "$dmesg_out" 2>/dev/null || true
	if [ -n "${VM_OUT_COPY:-}" ]; then cp -r "$xchg/out/." "$VM_OUT_COPY/" 2>/dev/null || true; fi
	if [ ! -f "$xchg/status" ]; then
		[ -n "${TOA_UOA_VM_NESTED:-}" ] || echo "toa_uoa: the guest did not finish (timeout ${timeout}s, qemu status $rc)" >&2
		return 125
	fi
	return "$(cat "$xchg/status")"
}

case ${1:-} in
run) shift; cmd_run "$@" ;;
accel) detect_accel "$("$TOP/scripts/setup.sh" --print-kdir)" ;;
*) usage ;;
esac
