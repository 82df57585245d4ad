/*
 * trivial_fcgi.c -- the ingress benchmark's baseline: a libfcgi
 * responder with the same thread-pool shape as rolehook serve that reads
 * the body, computes its HMAC-SHA256 and answers 202.  No verification
 * logic, no JSON, no store: the ceiling rolehook is compared against.
 *
 * usage: trivial_fcgi SOCKET_PATH THREADS
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

static EVP_MAC *mac;
static int listen_fd;
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
serve(void *arg)
{
	static const char key[] = "bench-secret";
	FCGX_Request req;
	char buf[65536];
	unsigned char md[64];
	size_t mdlen;
	OSSL_PARAM params[2];
	int n, rc;

	(void)arg;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	FCGX_InitRequest(&req, listen_fd, 0);
	for (;;) {
		EVP_MAC_CTX *ctx;

		pthread_mutex_lock(&accept_lock);
		rc = FCGX_Accept_r(&req);
		pthread_mutex_unlock(&accept_lock);
		if (rc < 0)
			break;
		ctx = EVP_MAC_CTX_new(mac);
		EVP_MAC_init(ctx, (const unsigned char *)key, sizeof(key) - 1,
		    params);
		while ((n = FCGX_GetStr(buf, sizeof(buf), req.in)) > 0)
			EVP_MAC_update(ctx, (unsigned char *)buf, (size_t)n);
		EVP_MAC_final(ctx, md, &mdlen, sizeof(md));
		EVP_MAC_CTX_free(ctx);
		FCGX_PutS("Status: 202 Accepted\r\nContent-Type: application/json"
		    "\r\nContent-Length: 24\r\n\r\n{\"status\":\"accepted\"}\r\n\r\n",
		    req.out);
		FCGX_Finish_r(&req);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sun;
	pthread_t *t;
	sigset_t set;
	int i, nthreads, sig;

	if (argc != 3 || (nthreads = (int)strtol(argv[2], NULL, 10)) < 1 ||
	    nthreads > 256 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: trivial_fcgi SOCKET_PATH THREADS\n");
		return 2;
	}
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	FCGX_Init();
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, argv[1], strlen(argv[1]) + 1);
	unlink(argv[1]);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sun,
	    sizeof(sun)) != 0 || chmod(argv[1], 0666) != 0 ||
	    listen(listen_fd, 1024) != 0) {
		perror(argv[1]);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	t = calloc((size_t)nthreads, sizeof(*t));
	for (i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, serve, NULL);
	sigwait(&set, &sig);
	unlink(argv[1]);
	return 0;
}
