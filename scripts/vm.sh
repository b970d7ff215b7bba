#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run a command in a QEMU guest booted on the project's test kernel, or on Debian's own
# kernel binary (--kernel debian-7.3, as set up by scripts/setup.sh --kernel debian-7.3,
# its drivers loaded from Debian's modules package as it is). The guest sees the
# host's whole file system read-only at the same paths (so host programs such as python3,
# socat, curl and the freshly built toa_uoa.ko are there), with tmpfs on /tmp, /run and
# /var/tmp, and runs the command as root in the caller's working directory.
#
#   scripts/vm.sh [--kernel NAME] run [options] -- CMD [ARG...]
#     --kernel NAME    test (default) or debian-7.3
#     --kdir DIR       kernel build tree (default: scripts/setup.sh --print-kdir)
#     --timeout SECS   kill the guest after SECS (default 1800)
#     --mem SIZE       guest memory (default 2G)
#     --smp N          guest CPUs (default: host cores, at most 4)
#     --dmesg FILE     save the guest's kernel log there
#     --accel kvm|tcg  skip detection
#     --icount SHIFT   TCG with instruction counting: guest time = 2^SHIFT ns per instruction
#     --tcg-threads single|multi  one host thread for all vCPUs (default), or one each
#   scripts/vm.sh accel [--kernel NAME]  print the accelerator that works here (kvm or tcg)
#
# The exit status is the command's. $VM_OUT (a directory) is writable from the guest and
# the host sees what lands there: the guest side sets VM_OUT to the same path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

QEMU=qemu-system-x86_64
BUSYBOX=/bin/busybox

usage() {
	sed -n '3,23p' "$0" | sed 's/^# \{0,1\}//' >&2
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
# A distribution kernel has the drivers for the host's file system as modules: the
# initramfs carries those (uncompressed), listed in load order.
if [ -f /boot-modules ]; then
	while read -r m; do insmod "$m" || { echo "vm-init: insmod $m failed"; reboot -f; }; done </boot-modules
fi
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
# The kernel's module requests (veth, nf_tables...) run /sbin/modprobe in this initramfs,
# which hands them to the host's modprobe on the unpacked modules tree (toa_uoa.moddir).
moddir=$(sed -n 's/.*toa_uoa.moddir=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$moddir" ]; then
	mkdir -p /sbin
	printf '#!/bin/busybox sh\nexec /bin/busybox chroot %s /sbin/modprobe -d %s "$@"\n' "$R" "$moddir" >/sbin/modprobe
	chmod +x /sbin/modprobe
fi
mkdir -p "$R$xchg"
mount -t 9p -o trans=virtio,version=9p2000.L,rw,msize=512000 xchg "$R$xchg" ||
	fail "cannot mount the exchange directory"
# The whole kernel log, from boot, as it is written: kept even if something clears the
# ring buffer (the guest suite does, to test its own log check).
cat /dev/kmsg >"$R$xchg/kmsg" 2>/dev/null &
kmsg=$!
chroot $R /bin/bash -c "ip link set lo up 2>/dev/null; . '$xchg/env'; export TOA_UOA_MODDIR='$moddir'; cd \"\$VM_CWD\" 2>/dev/null || cd /; exec /bin/bash '$xchg/cmd'"
echo $? >"$R$xchg/status"
sleep 0.2
kill $kmsg
awk '/^ / { next } { i = index($0, ";"); split(substr($0, 1, i - 1), h, ",");
	printf "[%12.6f] %s\n", h[3] / 1000000, substr($0, i + 1) }' "$R$xchg/kmsg" >"$R$xchg/dmesg"
sync
umount "$R$xchg"
reboot -f
INIT
	chmod +x "$1"
}

# The initramfs depends only on busybox, this script and (for a distribution kernel) the
# boot modules: built once per content.
#   initramfs [MODDIR KVER]  MODDIR holds lib/modules/KVER (Debian's, unpacked, depmod'ed)
initramfs() {
	local moddir=${1:-} kver=${2:-} key img tmp
	key=$( { sha256sum "$BUSYBOX"; sed -n '/^write_init/,/^}/p' "$0"; echo "$moddir $kver ${BOOT_MODULES[*]}"; } |
		sha256sum | cut -c1-12)
	img=$CACHE/initramfs-$key.cpio.gz
	if [ ! -f "$img" ]; then
		[ -x "$BUSYBOX" ] || die "no $BUSYBOX: run scripts/setup.sh (package busybox-static)"
		tmp=$(mktemp -d)
		mkdir -p "$tmp"/{bin,dev,proc,sys,newroot}
		cp "$BUSYBOX" "$tmp/bin/busybox"
		write_init "$tmp/init"
		[ -z "$moddir" ] || boot_modules "$moddir" "$kver" "$tmp"
		(cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) >"$img.tmp"
		mv "$img.tmp" "$img"
		rm -rf "$tmp"
	fi
	echo "$img"
}

# What a Debian kernel must load to reach the host's file system: 9p over virtio (its
# virtio PCI transport is built in).
BOOT_MODULES=(9pnet_virtio 9p)

# boot_modules MODDIR KVER DIR: BOOT_MODULES and their dependencies, in load order
# (modprobe's own resolution), decompressed into DIR/lib/boot, listed in DIR/boot-modules.
boot_modules() {
	local moddir=$1 kver=$2 dir=$3 line ko name
	mkdir -p "$dir/lib/boot"
	: >"$dir/boot-modules"
	while read -r line; do
		case $line in
		insmod\ *) ko=${line#insmod }; ko=${ko%% *} ;;
		*) continue ;; # builtin
		esac
		name=$(basename "$ko")
		name=${name%.xz}
		name=${name%.zst}
		grep -qx "/lib/boot/$name" "$dir/boot-modules" && continue
		case $ko in
		*.xz) xz -dc "$ko" >"$dir/lib/boot/$name" ;;
		*.zst) zstd -qdc "$ko" >"$dir/lib/boot/$name" ;;
		*) cp "$ko" "$dir/lib/boot/$name" ;;
		esac
		echo "/lib/boot/$name" >>"$dir/boot-modules"
	done < <(modprobe -d "$moddir" -S "$kver" --show-depends -a "${BOOT_MODULES[@]}" ||
		die "modprobe cannot resolve ${BOOT_MODULES[*]} in $moddir")
}

# A KVM guest hangs on some machines of this kind even though /dev/kvm exists: prove it
# boots a guest end to end before using it; remember the verdict per kernel and qemu.
detect_accel() {
	local verdict
	verdict=$CACHE/accel-$(echo "$* $($QEMU --version | head -1)" | sha256sum | cut -c1-12)
	if [ ! -f "$verdict" ]; then
		local accel=tcg
		if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
			if TOA_UOA_VM_NESTED=1 timeout 60 "$0" run "$@" --accel kvm --timeout 40 -- true \
				>/dev/null 2>&1; then
				accel=kvm
			fi
		fi
		echo "$accel" >"$verdict"
	fi
	cat "$verdict"
}

cmd_run() {
	local kernel=test kdir="" timeout=1800 mem=2G smp dmesg_out="" accel="" icount="" tcg_threads=single
	smp=$(nproc)
	[ "$smp" -le 4 ] || smp=4
	while [ $# -gt 0 ]; do
		case $1 in
		--kernel) kernel=$(kernel_arg "$2"); shift ;;
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
	# The project must be visible in the guest even if it lives in a directory the guest
	# covers with tmpfs.
	local keep=""
	case $TOP in /tmp/* | /run/* | /var/tmp/*) keep=$TOP ;; esac
	command -v $QEMU >/dev/null || die "$QEMU not found: run scripts/setup.sh"
	local bz moddir="" kver="" kargs
	if [ "$kernel" = "$DEBIAN_KERNEL" ]; then
		# Debian's own kernel binary and modules, as the packages ship them.
		kver=$(debian_kver)
		moddir=$(debian_kver_dir "$kver")
		[ -n "$kver" ] && [ -f "$moddir/done" ] ||
			die "the $DEBIAN_KERNEL kernel is not set up: run scripts/setup.sh --kernel $DEBIAN_KERNEL"
		bz=$(debian_vmlinuz "$kver")
		kargs=(--kernel "$kernel")
	else
		[ -n "$kdir" ] || kdir=$("$TOP/scripts/setup.sh" --print-kdir)
		bz=$kdir/arch/x86/boot/bzImage
		[ -f "$bz" ] || die "no test kernel at $bz: run scripts/setup.sh"
		kargs=(--kdir "$kdir")
	fi
	[ -n "$accel" ] || accel=$(detect_accel "${kargs[@]}")

	local img xchg
	img=$(initramfs $moddir $kver)
	xchg=$(mktemp -d "${TMPDIR:-/tmp}/toa_uoa-vm.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$xchg'" EXIT
	local path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	if [ -n "$moddir" ]; then
		# modprobe in the guest finds Debian's modules (the host has none for that kernel).
		mkdir -p "$xchg/bin"
		printf '#!/bin/sh\nexec /sbin/modprobe -d %q "$@"\n' "$moddir" >"$xchg/bin/modprobe"
		chmod +x "$xchg/bin/modprobe"
		path=$xchg/bin:$path
	fi
	{
		printf 'export PATH=%q HOME=/tmp TERM=dumb LANG=C.UTF-8\n' "$path"
		printf 'export VM_CWD=%q VM_OUT=%q TOA_UOA_IN_VM=1\n' "$PWD" "$xchg/out"
		local v
		for v in TOA_UOA_CACHE TOA_UOA_KO TOA_UOA_SQUATTER TOA_UOA_DKMS_ROOT KTEST_FILTER KTEST_TIMEOUT KTEST_NO_SKIP; do
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
		-append "console=ttyS0 quiet loglevel=3 panic=-1 toa_uoa.xchg=$xchg${keep:+ toa_uoa.keep=$keep}${moddir:+ toa_uoa.moddir=$moddir}" \
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

# --kernel may also come before the subcommand: scripts/vm.sh --kernel debian-7.3 run -- CMD
global=()
if [ "${1:-}" = --kernel ]; then
	global=(--kernel "$(kernel_arg "${2:-}")")
	shift 2
fi
case ${1:-} in
run) shift; cmd_run "${global[@]}" "$@" ;;
accel)
	shift
	[ "${1:-}" != --kernel ] || global=(--kernel "$(kernel_arg "${2:-}")")
	if [ ${#global[@]} -gt 0 ]; then
		detect_accel "${global[@]}"
	else
		detect_accel --kdir "$("$TOP/scripts/setup.sh" --print-kdir)"
	fi
	;;
*) usage ;;
esac
