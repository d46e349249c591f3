/* derive.c: placeholder, filled in by its issue-13 work */
