//! A tiny eBPF assembler: the few instructions the egress programs use, with labels resolved
//! when the program is finished. Numbers are the kernel's (include/uapi/linux/bpf.h).
#![forbid(unsafe_code)]

use crate::sys::BpfInsn;

pub(super) const R0: u8 = 0;
pub(super) const R1: u8 = 1;
pub(super) const R2: u8 = 2;
pub(super) const R3: u8 = 3;
pub(super) const R4: u8 = 4;
pub(super) const R5: u8 = 5;
pub(super) const R6: u8 = 6;
pub(super) const R7: u8 = 7;
pub(super) const FP: u8 = 10;

/// Memory access sizes.
#[derive(Clone, Copy)]
pub(super) enum Size {
    B,
    W,
    Dw,
}

impl Size {
    fn bits(self) -> u8 {
        match self {
            Size::W => 0x00,
            Size::B => 0x10,
            Size::Dw => 0x18,
        }
    }
}

/// A jump target, placed with [`Asm::place`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Label(usize);

#[derive(Default)]
pub(super) struct Asm {
    insns: Vec<BpfInsn>,
    jumps: Vec<(usize, Label)>,
    places: Vec<Option<usize>>,
}

impl Asm {
    fn emit(&mut self, code: u8, dst: u8, src: u8, off: i16, imm: i32) {
        self.insns.push(BpfInsn { code, regs: dst | (src << 4), off, imm });
    }

    pub(super) fn label(&mut self) -> Label {
        self.places.push(None);
        Label(self.places.len() - 1)
    }

    pub(super) fn place(&mut self, label: Label) {
        self.places[label.0] = Some(self.insns.len());
    }

    /// dst = *(size *)(src + off)
    pub(super) fn load(&mut self, size: Size, dst: u8, src: u8, off: i16) {
        self.emit(0x61 | size.bits(), dst, src, off, 0);
    }

    /// *(size *)(dst + off) = src
    pub(super) fn store(&mut self, size: Size, dst: u8, off: i16, src: u8) {
        self.emit(0x63 | size.bits(), dst, src, off, 0);
    }

    /// *(size *)(dst + off) = imm
    pub(super) fn store_imm(&mut self, size: Size, dst: u8, off: i16, imm: i32) {
        self.emit(0x62 | size.bits(), dst, 0, off, imm);
    }

    /// lock *(u32 *)(dst + off) += src
    pub(super) fn atomic_add32(&mut self, dst: u8, off: i16, src: u8) {
        self.emit(0xc3, dst, src, off, 0);
    }

    /// dst = imm (64-bit)
    pub(super) fn mov_imm(&mut self, dst: u8, imm: i32) {
        self.emit(0xb7, dst, 0, 0, imm);
    }

    /// dst = src (64-bit)
    pub(super) fn mov(&mut self, dst: u8, src: u8) {
        self.emit(0xbf, dst, src, 0, 0);
    }

    /// dst += imm (64-bit)
    pub(super) fn add_imm(&mut self, dst: u8, imm: i32) {
        self.emit(0x07, dst, 0, 0, imm);
    }

    /// dst &= imm (32-bit, upper half cleared)
    pub(super) fn and32(&mut self, dst: u8, imm: i32) {
        self.emit(0x54, dst, 0, 0, imm);
    }

    /// dst <<= imm (64-bit)
    pub(super) fn lsh(&mut self, dst: u8, imm: i32) {
        self.emit(0x67, dst, 0, 0, imm);
    }

    /// dst >>= imm (32-bit, logical)
    pub(super) fn rsh32(&mut self, dst: u8, imm: i32) {
        self.emit(0x74, dst, 0, 0, imm);
    }

    /// if (u32)reg == imm goto label
    pub(super) fn jeq32(&mut self, reg: u8, imm: i32, label: Label) {
        self.jump(0x16, reg, imm, label);
    }

    /// if (u32)reg != imm goto label
    pub(super) fn jne32(&mut self, reg: u8, imm: i32, label: Label) {
        self.jump(0x56, reg, imm, label);
    }

    /// if reg == imm goto label (64-bit: pointers, helper results)
    pub(super) fn jeq(&mut self, reg: u8, imm: i32, label: Label) {
        self.jump(0x15, reg, imm, label);
    }

    /// if reg != imm goto label (64-bit)
    pub(super) fn jne(&mut self, reg: u8, imm: i32, label: Label) {
        self.jump(0x55, reg, imm, label);
    }

    pub(super) fn goto(&mut self, label: Label) {
        self.jump(0x05, 0, 0, label);
    }

    fn jump(&mut self, code: u8, reg: u8, imm: i32, label: Label) {
        self.jumps.push((self.insns.len(), label));
        self.emit(code, reg, 0, 0, imm);
    }

    pub(super) fn call(&mut self, helper: i32) {
        self.emit(0x85, 0, 0, 0, helper);
    }

    /// dst = the map open at `fd` (a two-instruction load the kernel resolves to the map).
    pub(super) fn load_map(&mut self, dst: u8, fd: i32) {
        self.emit(0x18, dst, 1, 0, fd);
        self.emit(0, 0, 0, 0, 0);
    }

    /// r0 = value; exit
    pub(super) fn ret(&mut self, value: i32) {
        self.mov_imm(R0, value);
        self.emit(0x95, 0, 0, 0, 0);
    }

    /// The instructions, every jump pointed at its label (a label never placed is a bug).
    pub(super) fn finish(mut self) -> Vec<BpfInsn> {
        for (at, label) in &self.jumps {
            let target = self.places[label.0].expect("every label used is placed");
            self.insns[*at].off = (target as i64 - *at as i64 - 1) as i16;
        }
        self.insns
    }
}
