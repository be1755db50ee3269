/* A user's program against the installed SDK: checks the ABI handshake, loads a model, generates a few tokens.
 *     consumer MODEL
 * Exit status 0 when the model produced text. */
#include <bit_ttt.h>

#include <stdio.h>
#include <string.h>

static int32_t TTT_CALL print_piece(const char* text, size_t len, int32_t token, void* user_data) {
    (void)token;
    fwrite(text, 1, len, stdout);
    *(size_t*)user_data += len;
    return 1;
}

int main(int argc, char** argv) {
    ttt_model* model = NULL;
    ttt_context* ctx = NULL;
    ttt_generate_params gp;
    size_t n_bytes = 0;
    int ok;
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL\n", argv[0]);
        return 2;
    }
    if (ttt_abi_version() != TTT_ABI_VERSION || TTT_ABI_VERSION != EXPECTED_ABI) {
        fprintf(stderr, "ABI mismatch: library %u, header %d, package %d\n", ttt_abi_version(), TTT_ABI_VERSION,
                EXPECTED_ABI);
        return 1;
    }
    printf("bit_ttt %s (ABI %u)\n", ttt_version_string(), ttt_abi_version());
    ttt_generate_params_init(&gp, (uint32_t)sizeof gp);
    gp.max_tokens = 16;
    gp.temperature = 0.0f;
    ok = ttt_load_model(argv[1], NULL, &model) == TTT_OK && ttt_create(model, NULL, &ctx) == TTT_OK &&
         ttt_generate(ctx, "ROMEO:", 6, &gp, print_piece, &n_bytes, NULL) == TTT_OK && n_bytes > 0;
    printf("\n");
    if (!ok) fprintf(stderr, "error: %s\n", ttt_last_error());
    ttt_destroy(ctx);
    ttt_model_free(model);
    return ok ? 0 : 1;
}
