#!/usr/bin/env python3
"""Links the executables again from the objects the build just made, with the Swift runtime and
Foundation inside (scripts/lib/build.sh says why), into BIN/static/.

The link command is SwiftPM's own, read from its build manifest (BIN/../../CONFIG.yaml), so every
flag and library it links with stays: only the output, the runtime's rpath and -static-stdlib change,
and the toolchain's static Foundation libraries come in one linker group (their order among themselves
is otherwise not resolved: CoreFoundation needs the ICU shims after it).
  link_static.py BIN PRODUCT..."""
import glob
import json
import os
import subprocess
import sys


def link_command(manifest, product, triple, config):
    """The `args` of the manifest's link command for `product`."""
    key = f'  "C.{product}-{triple}-{config}.exe":'
    with open(manifest) as f:
        lines = iter(f)
        for line in lines:
            if line.rstrip("\n") == key:
                for line in lines:
                    if line.startswith("    args: "):
                        return json.loads(line[len("    args: "):])
    sys.exit(f"{manifest} has no link command for {product}")


def main():
    bin_dir, products = os.path.realpath(sys.argv[1]), sys.argv[2:]
    config, triple = os.path.basename(bin_dir), os.path.basename(os.path.dirname(bin_dir))
    manifest = os.path.join(os.path.dirname(os.path.dirname(bin_dir)), f"{config}.yaml")
    out_dir = os.path.join(bin_dir, "static")
    os.makedirs(out_dir, exist_ok=True)
    for product in products:
        target, dynamic = os.path.join(out_dir, product), os.path.join(bin_dir, product)
        if os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(dynamic):
            continue  # SwiftPM linked nothing new since
        args = link_command(manifest, product, triple, config)
        swiftc = args[0]
        static = os.path.join(os.path.dirname(os.path.dirname(swiftc)), "lib", "swift_static", "linux")
        command, skip = [], False
        for index, arg in enumerate(args):
            if skip:
                skip = False
                continue
            if arg == "-o":
                command += ["-o", target]
                skip = True
            elif arg == "-Xlinker" and index + 1 < len(args) and args[index + 1].startswith("-rpath=/"):
                skip = True  # the runtime's folder: nothing to find there now
            else:
                command.append(arg)
        group = sorted(glob.glob(os.path.join(static, "*.a")))
        command += ["-static-stdlib", "-Xlinker", "--start-group"]
        for library in group:
            command += ["-Xlinker", library]
        command += ["-Xlinker", "--end-group"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"linking {product} statically failed:\n{result.stderr[-4000:]}")


if __name__ == "__main__":
    main()
