/* multiboot (v1) kernel: 32-bit protected mode, paging off; forever writes one word to
   every 4 KiB page between 2 MiB and 48 MiB so migration never sees a clean RAM */
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
	add $4096, %edi
	cmp $0x3000000, %edi
	jb 2b
	jmp 1b
