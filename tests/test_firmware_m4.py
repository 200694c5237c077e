"""The firmware kit on an emulated Cortex-M4: built with CMSIS-NN's kernels by arm-none-eabi-gcc and run under
QEMU's mps2-an386, with the figures export --micro measures there.
"""

import re
import shutil
import subprocess

from edgeport import runtime
from edgeport.export.micro import kit_arena
from tests.firmware import KIT, MICRO, W4, check_checksum, check_pictures, emulated, kit, make  # noqa: F401 (fixtures)



def test_a_fault_on_the_emulated_board_is_a_line_and_a_failing_status(kit, tmp_path):
    """The kit's start-up code turns a fault (a board would spin in it) into a printed line and exit status 3."""
    (tmp_path / "fault.c").write_text("int main(void) { *(volatile int*)0xFFFFFFF0u = 1; return 0; }\n")
    flags = re.search(r"^CM4_FLAGS := (.*)$", (kit / "sources.mk").read_text(), re.M).group(1).split()
    subprocess.run(["arm-none-eabi-gcc", *flags, str(tmp_path / "fault.c"), str(kit / "platform" / "startup.c"),
                    "-T", str(kit / "platform" / "mps2_an386.ld"), "-nostartfiles", "--specs=nano.specs",
                    "-o", str(tmp_path / "fault.elf")], check=True)
    result = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial",
                             "null", "-semihosting-config", "enable=on,target=native", "-kernel",
                             str(tmp_path / "fault.elf")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3 and "FAIL: HardFault" in result.stdout + result.stderr


def test_the_kit_runs_on_an_emulated_cortex_m4_in_the_smallest_arena_measured(emulated, test_set, tmp_path):
    """The export measured the seed kit's micro file on the emulated Cortex-M4 with a probe of its own, and the kit
    declares that arena plus the margin. The kit's program, built with exactly that arena and CMSIS-NN's kernels,
    passes under QEMU with TFLM's codes and checksum, and with 16 bytes less it fails; its instructions per picture
    are the probe's, and its program is the probe's plus the test pictures."""
    micro = runtime.read_manifest(emulated).files[KIT].micro
    m4 = micro.m4
    assert m4.kernels == "CMSIS-NN" and 0 < m4.arena_bytes and m4.arena_bytes % 16 == 0 and micro.m4_error is None
    assert m4.arena_used_bytes <= m4.arena_bytes  # TFLM's own count leaves padding out
    assert micro.kit_arena_bytes == kit_arena(m4.arena_bytes)
    kit = tmp_path / "micro"
    shutil.copytree(emulated / "micro", kit)
    assert f"kTensorArenaSize = {kit_arena(m4.arena_bytes)};" in (kit / "model_settings.h").read_text()
    assert f"kHostTensorArenaSize = {kit_arena(micro.arena_bytes)};" in (kit / "model_settings.h").read_text()
    outcomes, settings = {}, kit / "model_settings.h"
    for arena in (m4.arena_bytes, m4.arena_bytes - 16):
        settings.write_text(re.sub(r"kTensorArenaSize = \d+;", f"kTensorArenaSize = {arena};", settings.read_text()))
        outcomes[arena] = make(kit, "cortex-m4", "run-qemu")
    fits, short = outcomes[m4.arena_bytes], outcomes[m4.arena_bytes - 16]
    output = fits.stdout + fits.stderr
    assert fits.returncode == 0 and output.rstrip().endswith("PASS"), output[-3000:]
    check_pictures(output, kit)
    check_checksum(output, emulated, test_set, KIT)
    used, declared = map(int, re.search(r"arena used: (\d+) of (\d+) bytes", output).groups())
    assert declared == m4.arena_bytes and used == m4.arena_used_bytes
    # The typed registrations leave CMSIS-NN's 16-bit and 8-bit-weight fully connected kernels out of the program;
    # its packed 4-bit one (int8 activations) and its int8 softmax are in.
    symbols = subprocess.run(["arm-none-eabi-nm", str(kit / "build" / "cortex-m4" / "main.elf")], capture_output=True,
                             text=True, check=True).stdout.split()
    assert "arm_fully_connected_s4" in symbols and "arm_softmax_s8" in symbols
    assert not {"arm_fully_connected_s16", "arm_fully_connected_s8", "arm_softmax_s16"} & set(symbols)
    # A failing main.cc ends QEMU with a failing status, not a silent 0 (semihosting's extended exit).
    assert short.returncode != 0 and "FAIL: AllocateTensors" in short.stdout + short.stderr
    instructions = int(re.search(r"instructions per picture: (\d+) \(QEMU's count", output).group(1))
    assert abs(instructions - m4.instructions) <= 0.02 * m4.instructions
    # The MLP's multiply-accumulates: CMSIS-NN's SMLAD does two in one instruction, and no kernel spends a
    # hundred instructions on one.
    macs = 28 * 28 * 128 + 128 * 10
    assert macs / 2 < instructions < 100 * macs
    text, data = map(int, re.search(r"^\s*(\d+)\s+(\d+)\s+\d+\s+\d+\s+[0-9a-f]+\s+\S*main\.elf", fits.stdout,
                                    re.M).groups())
    pictures = int(re.search(r"#define EDGEPORT_CHECKSUM_PICTURES (\d+)", (kit / "model_test_vectors.h").read_text())
                   .group(1)) + 4
    assert 0 < text - m4.text_bytes - pictures * 28 * 28 < 16 * 1024 and data == m4.data_bytes


def test_the_seed_kits_packed_4_bit_file_meets_the_seed_goals_with_cmsis_nn(emulated, exported):
    """micro-w4 of the seed MLP: at most 64 KiB of flash and 4 KiB of arena on the Cortex-M4 (CMSIS-NN's native
    4-bit kernel), within 0.5 pt in TFLM and under 60 % of the int8 file, so it is the board's file; the reference
    kernels unpack its weights into the arena, so its kit says it needs CMSIS-NN. The kit's builds on the host and
    under QEMU are the seed kit's tests; the arena test builds this kit with the Cortex-M4's arena."""
    w4 = runtime.read_manifest(emulated).files[W4]
    session = runtime.read_manifest(exported)
    assert w4.sha256 == session.files[W4].sha256  # the same file as the session's kit
    assert w4.micro.flash_bytes == w4.bytes <= 64 * 1024 and w4.bytes < 0.6 * session.files[MICRO].bytes
    assert w4.micro.m4.arena_bytes <= 4 * 1024 and abs(w4.validation.accuracy_change) <= 0.005
    assert w4.micro.arena_bytes > 10 * w4.micro.m4.arena_bytes  # the reference kernels' unpacked weights
    assert session.recommended.micro == W4
    readme = (emulated / "micro" / "README.md").read_text()
    assert "the kit requires CMSIS-NN's kernels" in readme and f"in {w4.micro.m4.arena_bytes:,} bytes" in readme
    settings = (emulated / "micro" / "model_settings.h").read_text()
    assert f"kTensorArenaSize = {kit_arena(w4.micro.m4.arena_bytes)};" in settings
    assert f"kHostTensorArenaSize = {kit_arena(w4.micro.arena_bytes)};" in settings
