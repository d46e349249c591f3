/* multiboot (v1) kernel for the WAN migration tests and bench (test/integration/wan-migrate.sh,
   bench/wan-migrate.sh): 32-bit protected mode, paging off; forever writes one word to every
   4 KiB page of WSET_MB MiB from 2 MiB on, spinning SPIN loop turns after each page, so it
   dirties memory at a set pace (the bench measures the rate it gets with libvirt's dirty-rate
   calculation: under TCG the pace depends on the machine).  The word at 2 MiB counts the passes.
   gcc -m32 -c -DWSET_MB=16 -DSPIN=20000 wan-guest.S; ld -m elf_i386 -Ttext=0x100000 -e _start */
#ifndef WSET_MB
#define WSET_MB 16
#endif
#ifndef SPIN
#define SPIN 0
#endif
	.text
	.align 4
	.long 0x1BADB002
	.long 0
	.long -0x1BADB002
	.globl _start
_start:
	cli
	xor %eax, %eax
1:	inc %eax
	mov $0x200000, %edi
2:	mov %eax, (%edi)
	mov $SPIN, %ecx
3:	test %ecx, %ecx
	jz 4f
	dec %ecx
	jmp 3b
4:	add $4096, %edi
	cmp $(0x200000 + WSET_MB * 0x100000), %edi
	jb 2b
	jmp 1b
