# Sourced by demo.sh and session/sandbox.sh, inside a private mount namespace:
# overlay_dirs DIR... mounts each DIR as an overlay whose upper layer is a fresh tmpfs, so
# whatever is written there (users, /etc/cage, installed binaries) vanishes with the namespace.
# overlay_scratch names the tmpfs's mount point, gone from the host's /run once they hold it.
overlay_dirs() {
  local dir name scratch
  scratch=$(mktemp -d /run/cage-private.XXXXXX)
  overlay_scratch=$scratch
  mount -t tmpfs -o mode=0755 cage-private "$scratch"
  for dir in "$@"; do
    name=${dir//\//_}
    mkdir -p "$scratch/$name/upper" "$scratch/$name/work"
    mount -t overlay overlay -o "lowerdir=$dir,upperdir=$scratch/$name/upper,workdir=$scratch/$name/work" "$dir"
  done
  # The overlays hold the tmpfs; its mount point, made in the host's /run, need not stay.
  umount -l "$scratch" && rmdir "$scratch"
}
