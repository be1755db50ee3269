/* layout.c — prints the size and field offsets of every params/info struct of bit_ttt.h as this C compiler lays
 * them out; Tests.cs compares them with Marshal.SizeOf/OffsetOf of the [StructLayout(Sequential)] mirrors in
 * BitTtt.cs, so a field added to the header but not to the binding (or in another order) fails the tests.
 * Lines: "STRUCT sizeof N" and "STRUCT.FIELD N". */
#include <bit_ttt.h>

#include <stddef.h>
#include <stdio.h>

#define SIZE(s) printf(#s " sizeof %zu\n", sizeof(s))
#define FIELD(s, f) printf(#s "." #f " %zu\n", offsetof(s, f))

int main(void) {
    SIZE(ttt_model_params);
    FIELD(ttt_model_params, struct_size);
    FIELD(ttt_model_params, backend);
    FIELD(ttt_model_params, n_gpu_layers);
    FIELD(ttt_model_params, verify_checksum);
    FIELD(ttt_model_params, progress_callback);
    FIELD(ttt_model_params, progress_user_data);

    SIZE(ttt_model_info);
    FIELD(ttt_model_info, struct_size);
    FIELD(ttt_model_info, vocab_size);
    FIELD(ttt_model_info, hidden_dim);
    FIELD(ttt_model_info, num_layers);
    FIELD(ttt_model_info, intermediate_dim);
    FIELD(ttt_model_info, ttt_dim);
    FIELD(ttt_model_info, ttt_chunk);
    FIELD(ttt_model_info, bitlinear_scale);
    FIELD(ttt_model_info, act_bits);
    FIELD(ttt_model_info, inner_lr);
    FIELD(ttt_model_info, norm_eps);
    FIELD(ttt_model_info, bos_id);
    FIELD(ttt_model_info, eos_id);
    FIELD(ttt_model_info, fingerprint);
    FIELD(ttt_model_info, n_params);
    FIELD(ttt_model_info, has_tokenizer);
    FIELD(ttt_model_info, architecture);
    FIELD(ttt_model_info, n_heads);
    FIELD(ttt_model_info, n_kv_heads);
    FIELD(ttt_model_info, head_dim);
    FIELD(ttt_model_info, max_position);
    FIELD(ttt_model_info, ttt_kind);
    FIELD(ttt_model_info, ttt_heads);

    SIZE(ttt_context_params);
    FIELD(ttt_context_params, struct_size);
    FIELD(ttt_context_params, n_threads);
    FIELD(ttt_context_params, backend);
    FIELD(ttt_context_params, n_batch);
    FIELD(ttt_context_params, lm_head);
    FIELD(ttt_context_params, n_ctx);
    FIELD(ttt_context_params, kv_cache_type);
    FIELD(ttt_context_params, activations);

    SIZE(ttt_logit_bias);
    FIELD(ttt_logit_bias, token);
    FIELD(ttt_logit_bias, bias);

    SIZE(ttt_generate_params);
    FIELD(ttt_generate_params, struct_size);
    FIELD(ttt_generate_params, max_tokens);
    FIELD(ttt_generate_params, temperature);
    FIELD(ttt_generate_params, top_k);
    FIELD(ttt_generate_params, top_p);
    FIELD(ttt_generate_params, min_p);
    FIELD(ttt_generate_params, repetition_penalty);
    FIELD(ttt_generate_params, presence_penalty);
    FIELD(ttt_generate_params, frequency_penalty);
    FIELD(ttt_generate_params, penalty_window);
    FIELD(ttt_generate_params, seed);
    FIELD(ttt_generate_params, logit_bias);
    FIELD(ttt_generate_params, n_logit_bias);
    FIELD(ttt_generate_params, stop_strings);
    FIELD(ttt_generate_params, n_stop_strings);
    FIELD(ttt_generate_params, tokenize_flags);

    SIZE(ttt_sleep_params);
    FIELD(ttt_sleep_params, struct_size);
    FIELD(ttt_sleep_params, memories_dir);
    FIELD(ttt_sleep_params, max_days);
    FIELD(ttt_sleep_params, random_days);
    FIELD(ttt_sleep_params, seed);
    FIELD(ttt_sleep_params, max_piece_chars);
    FIELD(ttt_sleep_params, progress_callback);
    FIELD(ttt_sleep_params, progress_user_data);
    FIELD(ttt_sleep_params, autosave_path);

    SIZE(ttt_chat_params);
    FIELD(ttt_chat_params, struct_size);
    FIELD(ttt_chat_params, chat_template);
    FIELD(ttt_chat_params, bos_token);
    FIELD(ttt_chat_params, eos_token);
    FIELD(ttt_chat_params, extra_json);
    FIELD(ttt_chat_params, add_generation_prompt);

    SIZE(ttt_perf);
    FIELD(ttt_perf, struct_size);
    FIELD(ttt_perf, prompt_tokens);
    FIELD(ttt_perf, prompt_seconds);
    FIELD(ttt_perf, generated_tokens);
    FIELD(ttt_perf, generation_seconds);
    return 0;
}
