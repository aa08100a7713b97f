"""Neural-network blocks that know no model: weight-normed convs, snake (and its cache-friendly inference form),
ConvNeXt, AdaLN, resampling, VQ/FSQ, ECAPA-TDNN, perceiver resampler, mel front-end. One concept per module."""
