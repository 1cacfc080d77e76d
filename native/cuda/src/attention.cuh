// What attention.cu shares with gqa.cu: the flash forward's problem (where queries, keys and
// values live, as strides) and its launcher, and the head-size limit of the warp-per-row kernels.
#pragma once

#include "common.cuh"

namespace hyper {

constexpr int kAttentionMaxHead = 128;  // 4 channels per lane in registers

// One attention problem: queries attend over keys/values; the same kernel serves training
// (queries, keys and values all in qkv, or in separate buffers) and decoding (keys and values in
// a cache). Query head h reads key/value head h / group: group = 1 for multi-head attention,
// NH/NKV for grouped-query attention.
struct AttentionProblem {
    float* out;
    float* lse;  // may be null (decoding keeps none)
    const float* q;
    const float* k;
    const float* v;
    long long q_row, k_row, v_row, out_row;          // floats between consecutive tokens
    long long q_batch, k_batch, v_batch, out_batch;  // floats between batch elements
    int Tq, Tk, NH, group, hs;
    int causal;
    int q_pos;  // query t sits at position q_pos + t (causal: it sees keys 0..q_pos + t)
    float scale;
};

// Launches the flash forward over grid (ceil(Tq/8), B*NH); hs <= kAttentionMaxHead and B*NH <= 65535
// are the caller's to check.
int launch_attention_flash(const AttentionProblem& p, int B);

}  // namespace hyper
