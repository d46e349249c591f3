/*
 * bench_upload_call.c - the upload primitive alone (storage.h nc_vol_upload),
 * for bench/bench_upload.sh: uploads FILE into a new volume of a dir pool on
 * a libvirt URI, RUNS times (deleting the volume between runs), and prints
 * the seconds of each run.
 *
 *   nc-bench-upload-call URI POOL_PATH FILE RUNS [verified|plain]
 *
 * "verified" (the default) is what apply does: nc_vol_upload_verified, which
 * hashes the bytes sent; "plain" is nc_vol_upload.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../drivers/storage/storage.h"
#include "../reconciler/pass.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct nc_host_conn *h = NULL;
	struct nc_err err = { "" };
	struct nc_pool_def pd = { .name = "bench", .type = "dir" };
	char sum[65] = "";
	struct stat st;
	int fd, runs, i;
	bool verified;

	if (argc < 5) {
		fprintf(stderr, "usage: %s URI POOL_PATH FILE RUNS [verified|plain]\n", argv[0]);
		return 2;
	}
	pd.path = argv[2];
	runs = atoi(argv[4]);
	verified = argc < 6 || strcmp(argv[5], "plain") != 0;
	fd = open(argv[3], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perror(argv[3]);
		return 1;
	}
	if (verified) {
		/* the file's sha256, once (apply has it from the spec) */
		char *buf = malloc(1 << 20);
		ssize_t n;
		unsigned char md[32];
		struct nc_buf b = NC_BUF_INIT;

		(void)md;
		while ((n = read(fd, buf, 1 << 20)) > 0)
			nc_buf_add(&b, buf, (size_t)n);
		nc_sha256_hex(b.buf, b.len, sum);
		nc_buf_release(&b);
		free(buf);
	}
	if (nc_host_open(&h, argv[1], NULL, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	for (i = 0; i < runs; i++) {
		double t0;
		int rc;

		nc_vol_delete(h, &pd, "bench.raw", &err);
		sync();
		t0 = now();
		rc = verified ? nc_vol_upload_verified(h, &pd, "bench.raw", "raw", fd, (uint64_t)st.st_size, sum, &err)
			      : nc_vol_upload(h, &pd, "bench.raw", "raw", fd, (uint64_t)st.st_size, &err);
		if (rc < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		printf("%.3f\n", now() - t0);
		fflush(stdout);
	}
	nc_vol_delete(h, &pd, "bench.raw", &err);
	nc_host_close(h);
	close(fd);
	return 0;
}
