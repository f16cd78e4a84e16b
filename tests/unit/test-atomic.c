/* test-atomic: atomic replacement leaves the old file or the new one, never
 * a temp; special files (FIFOs, devices) are written in place, never
 * replaced; mkdir -p. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tp/atomic.h"
#include "tp/zio.h"

static int
read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return 0;
}

int
main(void)
{
	struct tp_atomic a;
	struct tp_zout *z;
	struct stat st;
	char buf[64];
	int fd;

	CHECK(tp_mkdir_p("d1/d2/d3") == 0 && stat("d1/d2/d3", &st) == 0 && S_ISDIR(st.st_mode),
	      "mkdir -p creates parents");
	CHECK(tp_mkdir_p("d1/d2") == 0, "mkdir -p of an existing directory");

	fd = open("f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "old", 3) == 3 && close(fd) == 0, "old file");
	CHECK(tp_atomic_open(&a, "f") == 0, "atomic open");
	CHECK(tp_write_all(a.fd, "new", 3) == 0, "write temp");
	CHECK(read_file("f", buf, sizeof buf) == 0 && strcmp(buf, "old") == 0,
	      "target unchanged before commit");
	CHECK(tp_atomic_commit(&a) == 0, "commit");
	CHECK(read_file("f", buf, sizeof buf) == 0 && strcmp(buf, "new") == 0,
	      "target replaced after commit");
	CHECK(tp_atomic_open(&a, "f") == 0, "atomic open again");
	tp_atomic_abort(&a);
	CHECK(read_file("f", buf, sizeof buf) == 0 && strcmp(buf, "new") == 0,
	      "abort leaves the target");
	CHECK(system("ls -a | grep -q tmp") != 0, "no temporary file left");

	/* A FIFO stands for /dev/null here: replacing it must never happen. */
	CHECK(mkfifo("fifo", 0644) == 0, "mkfifo");
	fd = open("fifo", O_RDWR | O_NONBLOCK); /* our own reader: writes don't block */
	CHECK(fd >= 0, "open fifo");
	CHECK(tp_is_special("fifo") && !tp_is_special("f") && !tp_is_special("nope"),
	      "special files recognized");
	CHECK(tp_atomic_open(&a, "fifo") == -1, "atomic replacement of a FIFO refused");
	z = tp_zout_open("fifo", TP_ZOUT_PLAIN | TP_ZOUT_ATOMIC, 0);
	CHECK(z && tp_zout_write(z, "hi", 2) == 0 && tp_zout_close(z) == 0,
	      "atomic zout to a FIFO writes in place");
	CHECK(stat("fifo", &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO is still a FIFO");
	CHECK(read(fd, buf, sizeof buf) == 2 && memcmp(buf, "hi", 2) == 0, "data went through it");
	close(fd);
	return check_done();
}
