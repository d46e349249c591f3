/* ha-guest.S - the guest of test/integration/ha.sh and bench/ha.sh: a multiboot (v1)
   kernel, 32-bit protected mode, paging off, that writes a counter to its disk for ever.
   Built with: gcc -m32 -c ha-guest.S && ld -m elf_i386 -Ttext=0x100000 -e _start
   (booted directly by QEMU, no firmware step: it runs within a second under TCG).

   Its disk is the primary IDE master (a VM disk with bus: ide, target hda), driven by
   ATA PIO (LBA28), one 512-byte sector per command, so each write is on the disk
   (QEMU's block layer, librbd in writethrough: the guest never flushes) before the
   guest sees it done; no cache in the guest.

   Every 200 ms (20 ticks of the PIT at 100 Hz; the guest halts in between) it writes
   one record, SEQ one more than the last:
     sector 1 + SEQ % 4096   the record (a ring: the last 4096 writes, 2 MiB)
     sector 0                the same record (the latest one)
   A record is the text "NCHA b=BOOTID s=SEQ\n", zero-padded, and at byte 32 the magic
   0x4148434e ("NCHA"), BOOTID and SEQ as little-endian 32-bit words.
   At boot it reads sector 0: BOOTID is the last one plus 1 and SEQ goes on from the last
   (a blank disk: BOOTID 1, SEQ from 0).  So a copy of the VM started elsewhere on the same
   disk continues the counter, and every boot's records carry a BOOTID of their own.

   On its serial console (COM1) it prints, one line each:
     NCHA boot b=BOOTID last=SEQ     at boot, after reading sector 0
     NCHA w b=BOOTID s=SEQ           a record and the header written, both without error
     NCHA err b=BOOTID s=SEQ st=ST er=ER lba=LBA
                                     the disk refused a write (ATA status and error
                                     registers, decimal); SEQ is not advanced, the same
                                     record is tried again 200 ms later
     NCHA busy b=BOOTID s=SEQ        a command is still busy after 2 s (once per command)
     NCHA rerr st=ST                 the read at boot failed (it then starts from 0)
     NCHA fault                      a CPU exception (it halts) */

	.set COM1, 0x3f8
	.set ATA, 0x1f0
	.set ATACTL, 0x3f6
	.set RING, 4096
	.set BUF, 0x70000
	.set IDT, 0x60000
	.set STACK, 0x80000
	.set MAGIC, 0x4148434e
	.set PIT_HZ_DIV, 11932		/* 1193182 / 100 */
	.set PERIOD, 20			/* ticks between writes: 200 ms */

	.text
	.align 4
	.long 0x1BADB002
	.long 0
	.long -0x1BADB002
	.globl _start
_start:
	cli
	mov $STACK, %esp
	cld
	call idt_init
	call pic_init
	call pit_init
	mov $ATACTL, %dx		/* nIEN: the disk raises no interrupt, it is polled */
	mov $2, %al
	out %al, %dx
	sti

	/* read sector 0: the last record */
	xor %eax, %eax
	call ata_read
	jnc 1f
	push %eax
	mov $s_rerr, %esi
	call puts
	pop %eax
	movzbl %al, %eax
	call putu
	call newline
	jmp 2f
1:	cmpl $MAGIC, BUF+32
	jne 2f
	mov BUF+36, %eax
	mov %eax, bootid
	mov BUF+40, %eax
	mov %eax, seq
2:	incl bootid
	mov $s_boot, %esi
	call puts
	mov bootid, %eax
	call putu
	mov $s_last, %esi
	call puts
	mov seq, %eax
	call putu
	call newline
	mov ticks, %eax
	mov %eax, next

mainloop:
	/* wait for the next period */
	mov next, %eax
	add $PERIOD, %eax
	mov %eax, next
1:	hlt
	mov ticks, %eax
	cmp next, %eax
	jb 1b

	mov seq, %eax
	inc %eax
	mov %eax, cur
	call build_record
	/* the ring's sector */
	mov cur, %eax
	xor %edx, %edx
	mov $RING, %ecx
	div %ecx
	lea 1(%edx), %eax
	mov %eax, lba
	call ata_write
	jc werr
	/* the header */
	movl $0, lba
	xor %eax, %eax
	call ata_write
	jc werr
	mov cur, %eax
	mov %eax, seq
	mov $s_w, %esi
	call puts
	call print_bs
	call newline
	jmp mainloop

werr:	/* eax: status | error << 8 */
	push %eax
	mov $s_err, %esi
	call puts
	call print_bs
	mov $s_st, %esi
	call puts
	mov (%esp), %eax
	movzbl %al, %eax
	call putu
	mov $s_er, %esi
	call puts
	pop %eax
	movzbl %ah, %eax
	call putu
	mov $s_lba, %esi
	call puts
	mov lba, %eax
	call putu
	call newline
	jmp mainloop

/* " b=BOOTID s=CUR" */
print_bs:
	mov $s_b, %esi
	call puts
	mov bootid, %eax
	call putu
	mov $s_s, %esi
	call puts
	mov cur, %eax
	call putu
	ret

/* BUF := the record of (bootid, cur) */
build_record:
	mov $BUF, %edi
	mov $128, %ecx
	xor %eax, %eax
	rep stosl
	mov $BUF, %edi
	mov $s_rec, %esi
	call strcpy
	mov bootid, %eax
	call utoa
	mov $s_s, %esi
	call strcpy
	mov cur, %eax
	call utoa
	movb $'\n', (%edi)
	movl $MAGIC, BUF+32
	mov bootid, %eax
	mov %eax, BUF+36
	mov cur, %eax
	mov %eax, BUF+40
	ret

/* copies the string at esi to edi (without its NUL); edi ends after it */
strcpy:
	lodsb
	test %al, %al
	jz 1f
	stosb
	jmp strcpy
1:	ret

/* writes eax in decimal at edi; edi ends after it */
utoa:
	push %ebx
	push %ecx
	push %edx
	mov $10, %ebx
	xor %ecx, %ecx
1:	xor %edx, %edx
	div %ebx
	add $'0', %dl
	push %edx
	inc %ecx
	test %eax, %eax
	jnz 1b
2:	pop %eax
	stosb
	loop 2b
	pop %edx
	pop %ecx
	pop %ebx
	ret

/* ---------------------------------------------------------------- serial */
putc:	/* al */
	push %edx
	push %eax
	mov $COM1+5, %dx
1:	in %dx, %al
	test $0x20, %al
	jz 1b
	pop %eax
	mov $COM1, %dx
	out %al, %dx
	pop %edx
	ret
puts:	/* esi: NUL-terminated */
	push %eax
1:	lodsb
	test %al, %al
	jz 2f
	call putc
	jmp 1b
2:	pop %eax
	ret
putu:	/* eax in decimal */
	push %edi
	push %esi
	sub $16, %esp
	mov %esp, %edi
	call utoa
	movb $0, (%edi)
	mov %esp, %esi
	call puts
	add $16, %esp
	pop %esi
	pop %edi
	ret
newline:
	push %eax
	mov $'\n', %al
	call putc
	pop %eax
	ret

/* ---------------------------------------------------------------- ATA PIO */
/* waits until BSY is clear (halting until the next tick between looks); al: status.
   Says "busy" once when it takes more than 2 s. */
ata_wait:
	push %edx
	push %ecx
	mov ticks, %ecx
	add $200, %ecx
	movb $0, said_busy
1:	mov $ATA+7, %dx
	in %dx, %al
	test $0x80, %al
	jz 2f
	hlt
	cmp ticks, %ecx
	ja 1b
	cmpb $0, said_busy
	jne 1b
	movb $1, said_busy
	push %esi
	mov $s_busy, %esi
	call puts
	call print_bs
	call newline
	pop %esi
	jmp 1b
2:	pop %ecx
	pop %edx
	ret

/* selects the master, one sector at LBA eax, command bl */
ata_cmd:
	push %eax
	call ata_wait
	mov (%esp), %eax
	shr $24, %eax
	and $0x0f, %al
	or $0xe0, %al
	mov $ATA+6, %dx
	out %al, %dx
	mov $ATA+2, %dx
	mov $1, %al
	out %al, %dx
	mov (%esp), %eax
	mov $ATA+3, %dx
	out %al, %dx
	shr $8, %eax
	mov $ATA+4, %dx
	out %al, %dx
	shr $8, %eax
	mov $ATA+5, %dx
	out %al, %dx
	mov %bl, %al
	mov $ATA+7, %dx
	out %al, %dx
	pop %eax
	ret

/* after a command: waits for BSY clear; CF set and eax = status | error << 8 when
   ERR or DF is set, else CF clear and al = status */
ata_result:
	call ata_wait
	test $0x21, %al
	jz 1f
	movzbl %al, %eax
	push %eax
	mov $ATA+1, %dx
	in %dx, %al
	movzbl %al, %edx
	pop %eax
	shl $8, %edx
	or %edx, %eax
	stc
	ret
1:	clc
	ret

/* reads sector eax into BUF; CF set on error (eax: status | error << 8) */
ata_read:
	push %ebx
	push %ecx
	push %edx
	push %edi
	mov $0x20, %bl
	call ata_cmd
	call ata_result
	jc 1f
	test $0x08, %al
	jnz 2f
	stc
	jmp 1f
2:	mov $ATA, %dx
	mov $BUF, %edi
	mov $256, %ecx
	rep insw
	clc
1:	pop %edi
	pop %edx
	pop %ecx
	pop %ebx
	ret

/* writes BUF to sector eax; CF set on error (eax: status | error << 8) */
ata_write:
	push %ebx
	push %ecx
	push %edx
	push %esi
	mov $0x30, %bl
	call ata_cmd
	call ata_result
	jc 1f
	test $0x08, %al
	jnz 2f
	stc
	jmp 1f
2:	mov $ATA, %dx
	mov $BUF, %esi
	mov $256, %ecx
	rep outsw
	call ata_result
1:	pop %esi
	pop %edx
	pop %ecx
	pop %ebx
	ret

/* ---------------------------------------------------------------- interrupts */
/* vectors 0-31: fault; 32-47 (the PICs, remapped): irq; the rest: fault */
idt_init:
	mov $IDT, %edi
	xor %ecx, %ecx
1:	mov $fault, %eax
	cmp $32, %ecx
	jb 2f
	cmp $48, %ecx
	jae 2f
	mov $irq, %eax
	cmp $32, %ecx
	jne 2f
	mov $timer, %eax
2:	mov %ax, (%edi)
	mov %cs, %dx
	mov %dx, 2(%edi)
	movw $0x8e00, 4(%edi)
	shr $16, %eax
	mov %ax, 6(%edi)
	add $8, %edi
	inc %ecx
	cmp $256, %ecx
	jb 1b
	lidt idtr
	ret

pic_init:
	mov $0x11, %al
	out %al, $0x20
	out %al, $0xa0
	mov $0x20, %al
	out %al, $0x21
	mov $0x28, %al
	out %al, $0xa1
	mov $4, %al
	out %al, $0x21
	mov $2, %al
	out %al, $0xa1
	mov $1, %al
	out %al, $0x21
	out %al, $0xa1
	mov $0xfe, %al			/* IRQ 0 (the PIT) only */
	out %al, $0x21
	mov $0xff, %al
	out %al, $0xa1
	ret

pit_init:
	mov $0x34, %al			/* channel 0, lo/hi, mode 2 (rate generator) */
	out %al, $0x43
	mov $PIT_HZ_DIV & 0xff, %al
	out %al, $0x40
	mov $PIT_HZ_DIV >> 8, %al
	out %al, $0x40
	ret

timer:
	push %eax
	incl ticks
	mov $0x20, %al
	out %al, $0x20
	pop %eax
	iret

irq:
	push %eax
	mov $0x20, %al
	out %al, $0xa0
	out %al, $0x20
	pop %eax
	iret

fault:
	cli
	mov $s_fault, %esi
	call puts
1:	hlt
	jmp 1b

	.data
	.align 4
idtr:	.word 256 * 8 - 1
	.long IDT
ticks:	.long 0
next:	.long 0
bootid:	.long 0
seq:	.long 0
cur:	.long 0
lba:	.long 0
said_busy: .byte 0
s_rec:	.asciz "NCHA b="
s_boot:	.asciz "NCHA boot b="
s_last:	.asciz " last="
s_w:	.asciz "NCHA w"
s_err:	.asciz "NCHA err"
s_busy:	.asciz "NCHA busy"
s_b:	.asciz " b="
s_s:	.asciz " s="
s_st:	.asciz " st="
s_er:	.asciz " er="
s_lba:	.asciz " lba="
s_rerr:	.asciz "NCHA rerr st="
s_fault: .asciz "NCHA fault\n"
