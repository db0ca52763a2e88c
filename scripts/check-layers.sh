#!/usr/bin/env bash
# check-layers.sh: fail when an #include breaks the dependency direction of ARCHITECTURE.md:
#   cli -> engine | meanfield | data -> coalesce -> io | stats -> util -> include/npgrow (physics)
# A host folder may include its own headers and those of strictly lower rooms, never a sibling's
# or a higher one's; include/npgrow's physics headers know nothing of the host; kernels/ include
# only the physics headers and each other. Every public header is assigned a room below.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A rank=([physics]=0 [util]=1 [io]=2 [stats]=2 [coalesce]=3 [engine]=4 [meanfield]=4
                 [data]=4 [cli]=5)
# include/npgrow/<h>.h -> the room that owns it (physics = shared host/device code and the
# backend interface the kernels implement).
declare -A owner=([hd]=physics [model]=physics [rates]=physics [philox]=physics [init]=physics
                  [step]=physics [backend]=physics [coalesce]=physics [bdstep]=physics
                  [bddevice]=physics
                  [status]=util
                  [config]=io [observe]=io [outdir]=io [h5out]=io
                  [compare]=stats
                  [engine]=engine [run]=engine [ssa_batch]=engine [preflight]=engine
                  [wellmixed]=coalesce [brownian]=coalesce
                  [me]=meanfield [pair]=meanfield [data]=data [infer]=data [predict]=data)

bad=0
complain() { echo "check-layers: $*" >&2; bad=1; }

# allowed FROM TO: may room FROM use room TO?
allowed() { [ "$1" = "$2" ] || ((rank[$2] < rank[$1])); }

room_of_header() { # "npgrow/x.h" or "folder/x.h" -> room, or empty
    local inc=$1 base
    case $inc in
    npgrow/*)
        base=$(basename "$inc" .h)
        [ -n "${owner[$base]+x}" ] && echo "${owner[$base]}" ;;
    */*) echo "${inc%%/*}" ;;
    esac
}

# every public header has an owner
for h in include/npgrow/*.h; do
    b=$(basename "$h" .h)
    [ -n "${owner[$b]+x}" ] || complain "$h: not assigned to a room (add it to scripts/check-layers.sh)"
done

check_file() { # file room
    local f=$1 from=$2 inc to
    while IFS= read -r inc; do
        if [ "$from" != physics ] && [ "$from" != kernels ] && [[ $inc != */* ]]; then
            # a header beside the file (same room)
            [ -f "$(dirname "$f")/$inc" ] || complain "$f: \"$inc\" not found beside it"
            continue
        fi
        if [ "$from" = kernels ]; then
            if [[ $inc != */* ]]; then
                [ -f "kernels/$inc" ] || complain "$f: \"$inc\" not found in kernels/"
                continue
            fi
            to=$(room_of_header "$inc")
            [ "$to" = physics ] || complain "$f includes \"$inc\": kernels/ may include only the physics headers of include/npgrow"
            continue
        fi
        to=$(room_of_header "$inc")
        if [ -z "$to" ] || [ -z "${rank[$to]+x}" ]; then
            complain "$f includes \"$inc\": not a header of any room"
            continue
        fi
        allowed "$from" "$to" || complain "$f ($from) includes \"$inc\" ($to): against the dependency direction"
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
}

for h in include/npgrow/*.h; do
    b=$(basename "$h" .h)
    [ -n "${owner[$b]+x}" ] && check_file "$h" "${owner[$b]}"
done
for d in host/*/; do
    room=$(basename "$d")
    if [ -z "${rank[$room]+x}" ]; then
        complain "host/$room/: not a known room (add it to scripts/check-layers.sh and ARCHITECTURE.md)"
        continue
    fi
    while IFS= read -r f; do check_file "$f" "$room"; done < <(find "$d" -name '*.[ch]' | sort)
done
for f in host/*.c host/*.h; do
    [ -e "$f" ] && complain "$f: host/ holds folders only (put it in the room of its concern)"
done
for f in kernels/*; do
    case $f in *.cu | *.cuh | *.h) check_file "$f" kernels ;; esac
done

if ((bad)); then
    echo "check-layers: FAILED (see ARCHITECTURE.md, 'Dependency direction')" >&2
    exit 1
fi
echo "check-layers: ok ($(find host include/npgrow kernels -name '*.[ch]' -o -name '*.cu' -o -name '*.cuh' | wc -l) files)"
