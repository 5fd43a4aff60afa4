#include <stdio.h>
int main(void) { puts("pyheap " PYHEAP_VERSION); return 0; }
