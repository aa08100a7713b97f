"""Neural-network blocks that know no model: weight-normed convs, snake, ConvNeXt, AdaLN, sampling, VQ/FSQ,
ECAPA-TDNN, perceiver resampler, mel front-end. One concept per module."""
