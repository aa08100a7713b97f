"""Neural-network blocks that know no model: weight-normed convs, snake (+ a cache-friendly inference variant), ConvNeXt, AdaLN, resampling, VQ/FSQ,
ECAPA-TDNN, perceiver resampler, mel front-end. One concept per module."""
